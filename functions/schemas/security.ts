import { z } from '@hono/zod-openapi';
import type { AuditRow } from '../audit';
import type { ApiTokenRow } from '../auth/api-tokens';
import { base64UrlDecode, base64UrlEncode, utf8 } from '../auth/crypto';
import type { UserRow } from '../auth/users';
import {
  DateTimeParam,
  EmailSchema,
  iso,
  LimitSchema,
  RoleSchema,
  singleLineText,
  TimestampSchema,
} from './common';

/** Request and response schemas of the auth, users, tokens and audit routes. */

export const ActorSchema = z
  .object({
    kind: z.enum(['token', 'session', 'access', 'bootstrap']),
    id: z.string(),
    name: z.string(),
    role: RoleSchema,
  })
  .openapi('Actor');

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: RoleSchema,
    disabled: z.boolean(),
    hasPassword: z
      .boolean()
      .openapi({ description: 'False for a user who signs in only through Cloudflare Access' }),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    lastLoginAt: TimestampSchema.nullable(),
  })
  .openapi('User');

export type UserBody = z.infer<typeof UserSchema>;

export function userBody(row: UserRow): UserBody {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled,
    hasPassword: row.passwordHash !== null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    lastLoginAt: iso(row.lastLoginAt),
  };
}

// Any characters but control characters (which no keyboard types and NUL would break hashing
// in other implementations), so a pasted passphrase works.
const PasswordSchema = singleLineText({ min: 12, max: 1024 }).openapi({ format: 'password' });

export const UserNameSchema = singleLineText({ max: 200 }).openapi({ example: 'Ada Lovelace' });

export const LoginBodySchema = z
  .strictObject({
    email: EmailSchema,
    password: singleLineText({ min: 1, max: 1024 }).openapi({ format: 'password' }),
  })
  .openapi('LoginRequest');

export const LoginResponseSchema = z
  .object({ user: UserSchema, expiresAt: TimestampSchema })
  .openapi('LoginResponse');

export const MeResponseSchema = z.object({ actor: ActorSchema, user: UserSchema.nullable() }).openapi('Me');

export const CreateUserBodySchema = z
  .strictObject({
    email: EmailSchema,
    name: UserNameSchema.optional(),
    role: RoleSchema,
    password: PasswordSchema.optional().openapi({
      description: 'Omit for a user who signs in only through Cloudflare Access',
    }),
  })
  .openapi('CreateUserRequest');

export const UpdateUserBodySchema = z
  .strictObject({
    name: UserNameSchema.optional(),
    role: RoleSchema.optional(),
    disabled: z.boolean().optional(),
    password: PasswordSchema.optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'nothing to change')
  .openapi('UpdateUserRequest');

/** Opaque cursors: base64url of the last row's sort key, refused with 400 when not ours. */
export function encodeCursor(parts: string[]): string {
  return base64UrlEncode(utf8(JSON.stringify(parts)));
}

export function decodeCursor(cursor: string, length: number): string[] | null {
  const bytes = base64UrlDecode(cursor);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes),
    );
    if (!Array.isArray(value) || value.length !== length || !value.every((part) => typeof part === 'string'))
      return null;
    return value as string[];
  } catch {
    return null;
  }
}

export const CursorSchema = z
  .string()
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page')
  .openapi({ description: "The previous page's `nextCursor`" });

// Queries ignore parameters they do not know (a cache-buster must not break a request); bodies do not.
export const ListUsersQuerySchema = z.object({
  cursor: CursorSchema.optional(),
  limit: LimitSchema,
});

export const UserListSchema = z
  .object({ users: z.array(UserSchema), nextCursor: z.string().nullable() })
  .openapi('UserList');

export const ApiTokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    role: RoleSchema,
    prefix: z.string().openapi({ description: 'The first characters of the token, to tell tokens apart' }),
    status: z.enum(['active', 'expired', 'revoked']),
    createdBy: z.string(),
    createdByName: z.string(),
    createdAt: TimestampSchema,
    expiresAt: TimestampSchema.nullable(),
    revokedAt: TimestampSchema.nullable(),
    lastUsedAt: TimestampSchema.nullable(),
  })
  .openapi('ApiToken');

export type ApiTokenBody = z.infer<typeof ApiTokenSchema>;

export function apiTokenBody(row: ApiTokenRow, now = Date.now()): ApiTokenBody {
  const status =
    row.revokedAt !== null
      ? 'revoked'
      : row.expiresAt !== null && row.expiresAt.getTime() <= now
        ? 'expired'
        : 'active';
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    status,
    createdBy: row.createdBy,
    createdByName: row.createdByName,
    createdAt: iso(row.createdAt),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    lastUsedAt: iso(row.lastUsedAt),
  };
}

export const CreateTokenBodySchema = z
  .strictObject({
    name: singleLineText({ min: 1, max: 200 }).openapi({ example: 'deploy pipeline' }),
    role: RoleSchema,
    expiresAt: TimestampSchema.optional().openapi({
      description:
        'Omit for a token that does not expire (or, when WATCHTOWER_TOKEN_DEFAULT_DAYS is set, that expires after that many days)',
    }),
  })
  .refine((body) => body.expiresAt === undefined || Date.parse(body.expiresAt) > Date.now(), {
    message: 'must be in the future',
    path: ['expiresAt'],
  })
  .openapi('CreateTokenRequest');

export const CreatedTokenSchema = ApiTokenSchema.extend({
  token: z.string().openapi({
    description: 'The secret: shown this once, never again. Send it as `Authorization: Bearer <token>`.',
  }),
}).openapi('CreatedApiToken');

export const ListTokensQuerySchema = z.object({
  includeRevoked: z.enum(['true', 'false']).optional().openapi({ description: 'Also list revoked tokens' }),
  cursor: CursorSchema.optional(),
  limit: LimitSchema,
});

export const TokenListSchema = z
  .object({ tokens: z.array(ApiTokenSchema), nextCursor: z.string().nullable() })
  .openapi('ApiTokenList');

const NameLike = /^[a-z][a-z0-9_.-]{0,99}$/;

export const AuditQuerySchema = z.object({
  actorKind: z.enum(['token', 'session', 'access', 'bootstrap', 'anonymous']).optional(),
  actorId: singleLineText({ min: 1, max: 200 }).optional(),
  actor: singleLineText({ min: 1, max: 512 })
    .optional()
    .openapi({ description: "The actor's name as recorded, exactly: a user's email, a token's name" }),
  action: z.string().regex(NameLike, 'an action such as users.create').optional(),
  targetType: z.string().regex(NameLike, 'a target type such as user').optional(),
  targetId: singleLineText({ min: 1, max: 500 }).optional(),
  result: z.enum(['ok', 'error', 'accepted']).optional(),
  from: DateTimeParam.optional().openapi({ description: 'Entries at or after this time' }),
  to: DateTimeParam.optional().openapi({ description: 'Entries at or before this time' }),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'not a cursor from a previous page')
    .optional()
    .openapi({ description: "The previous page's `nextCursor`: entries older than it" }),
  limit: LimitSchema,
});

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    at: TimestampSchema,
    actor: z.object({ kind: z.string(), id: z.string(), name: z.string() }),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string().nullable() }),
    result: z.enum(['ok', 'error', 'accepted']),
    commandId: z.string().nullable(),
    details: z.unknown(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  })
  .openapi('AuditEntry');

export type AuditEntryBody = z.infer<typeof AuditEntrySchema>;

export function auditEntryBody(row: AuditRow): AuditEntryBody {
  return {
    id: row.id,
    at: iso(row.at),
    actor: { kind: row.actorKind, id: row.actorId, name: row.actorName },
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    result: row.result,
    commandId: row.commandId,
    details: row.details,
    ip: row.ip,
    userAgent: row.userAgent,
  };
}

export const AuditListSchema = z
  .object({ entries: z.array(AuditEntrySchema), nextCursor: z.string().nullable() })
  .openapi('AuditList');
