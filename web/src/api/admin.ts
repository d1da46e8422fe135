import type { InferRequestType, InferResponseType } from 'hono/client';
import type { api } from './client';

/** The audit log, users and API tokens routes, as the Audit and Settings pages use them. */
export type AuditList = InferResponseType<(typeof api.api.audit)['$get'], 200>;
export type AuditEntry = AuditList['entries'][number];
export type AuditQuery = InferRequestType<(typeof api.api.audit)['$get']>['query'];

export type UserList = InferResponseType<(typeof api.api.users)['$get'], 200>;
export type User = UserList['users'][number];
export type Role = User['role'];
export type CreateUserBody = InferRequestType<(typeof api.api.users)['$post']>['json'];

export type TokenList = InferResponseType<(typeof api.api.tokens)['$get'], 200>;
export type ApiToken = TokenList['tokens'][number];
export type CreatedToken = InferResponseType<(typeof api.api.tokens)['$post'], 201>;

export const ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly Role[];
