import type { InferRequestType, InferResponseType } from 'hono/client';
import type { api } from './client';

/** The Failed page's API shapes, from the Worker's own routes. */
export type FailedList = InferResponseType<(typeof api.api.failed)['$get'], 200>;
export type FailedJob = FailedList['jobs'][number];
export type FailedQuery = InferRequestType<(typeof api.api.failed)['$get']>['query'];
export type FailedCount = InferResponseType<(typeof api.api.failed.count)['$get'], 200>;
export type FailedCountQuery = InferRequestType<(typeof api.api.failed.count)['$get']>['query'];
export type BulkRequest = InferRequestType<(typeof api.api.failed.retry)['$post']>['json'];
export type Command = InferResponseType<(typeof api.api.commands)[':id']['$get'], 200>['command'];
export type BulkProgress = NonNullable<Command['progress']>;
