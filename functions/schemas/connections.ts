import { z } from '@hono/zod-openapi';
import { CONNECTION_KINDS } from '../../drizzle/schema';
import type { ConnectionRow, ConnectionTestRow } from '../queries/connections';
import { iso, LimitSchema, singleLineText, TimestampSchema } from './common';
import { CursorSchema } from './security';

/**
 * Request and response schemas of /api/connections. A read shows every field that is not secret
 * and, for the secrets, only whether one is set (`hasPassword`, `hasUrl`): no route returns them.
 */

// Names end up in bus targets, job rows and Redis keys: printable ASCII without spaces, as in the
// host's configuration file (worker-host/config/config-schema.ts).
const identifier = (example: string) =>
  z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .openapi({ example });

const HostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'must be a host name or an IP address')
  .openapi({ example: 'redis.internal' });

const PortSchema = z.number().int().min(1).max(65_535).openapi({ example: 6379 });

const NodeSchema = z.strictObject({ host: HostSchema, port: PortSchema }).openapi('ConnectionNode');

const NodesSchema = z
  .array(NodeSchema)
  .min(1)
  .max(64)
  .openapi({ description: 'redis-cluster: its nodes (some are enough); redis-sentinel: the sentinels' });

const DbSchema = z.number().int().min(0).max(65_535).openapi({ description: 'The Redis database number' });

const UsernameSchema = singleLineText({ min: 1, max: 256 }).openapi({ description: 'Redis ACL user' });

const KeyPrefixSchema = identifier('bull').openapi({
  description: "BullMQ's key prefix (`bull` when unset)",
});

// Any text but control characters, so a generated password pastes as is.
const PasswordSchema = singleLineText({ min: 1, max: 1024 }).openapi({
  format: 'password',
  description: 'Stored sealed (AES-256-GCM); never returned',
});

const UrlSchema = z
  .string()
  .max(2048)
  .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'must be a postgres:// or postgresql:// URL')
  .refine(parsesAsUrl, 'must be a valid URL')
  .openapi({
    format: 'password',
    description: "BullMQ's Postgres database; stored sealed (it holds a password) and never returned",
    example: 'postgres://bullmq:secret@db.internal:5432/queues',
  });

function parsesAsUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

const NameSchema = identifier('main-redis');

// The fields of each kind that are not secret; the create bodies add the secrets.
const redis = {
  kind: z.literal('redis'),
  name: NameSchema,
  host: HostSchema,
  port: PortSchema.default(6379),
  db: DbSchema.default(0),
  tls: z.boolean().default(false),
  username: UsernameSchema.optional(),
  keyPrefix: KeyPrefixSchema.optional(),
};

const redisCluster = {
  kind: z.literal('redis-cluster'),
  name: NameSchema,
  nodes: NodesSchema,
  tls: z.boolean().default(false),
  username: UsernameSchema.optional(),
  keyPrefix: KeyPrefixSchema.optional(),
};

const redisSentinel = {
  kind: z.literal('redis-sentinel'),
  name: NameSchema,
  nodes: NodesSchema,
  sentinelName: identifier('mymaster').openapi({
    description: 'The name of the primary the sentinels watch',
  }),
  db: DbSchema.default(0),
  tls: z.boolean().default(false),
  username: UsernameSchema.optional(),
  keyPrefix: KeyPrefixSchema.optional(),
};

const postgres = { kind: z.literal('postgres'), name: NameSchema };

/**
 * Each kind's fields that are not secret, strict: a field of another kind is refused, never
 * silently dropped. A change is checked against these once merged with the row.
 */
export const PLAIN_SHAPES = {
  redis: z.strictObject(redis),
  'redis-cluster': z.strictObject(redisCluster),
  'redis-sentinel': z.strictObject(redisSentinel),
  postgres: z.strictObject(postgres),
} as const;

/** A connection's fields that are not secret, whatever its kind. */
export type PlainFields = z.output<(typeof PLAIN_SHAPES)[keyof typeof PLAIN_SHAPES]>;

const password = { password: PasswordSchema.optional() };

export const CreateConnectionBodySchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...redis, ...password }),
    z.strictObject({ ...redisCluster, ...password }),
    z.strictObject({ ...redisSentinel, ...password }),
    z.strictObject({ ...postgres, url: UrlSchema }),
  ])
  .openapi('CreateConnectionRequest');

export type ConnectionInput = z.output<typeof CreateConnectionBodySchema>;

/**
 * A change: only the fields given change, and only those of the connection's kind are accepted
 * (checked against the kind's schema once merged). `password`: a string replaces it, null clears
 * it, absent keeps it. `username` and `keyPrefix` clear with null too. The kind cannot change.
 */
export const UpdateConnectionBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    host: HostSchema.optional(),
    port: PortSchema.optional(),
    db: DbSchema.optional(),
    tls: z.boolean().optional(),
    username: UsernameSchema.nullable().optional(),
    keyPrefix: KeyPrefixSchema.nullable().optional(),
    nodes: NodesSchema.optional(),
    sentinelName: identifier('mymaster').optional(),
    password: PasswordSchema.nullable().optional().openapi({
      description: 'A new password; null removes it; omit to keep it',
    }),
    url: UrlSchema.optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'nothing to change')
  .openapi('UpdateConnectionRequest');

export type ConnectionPatch = z.output<typeof UpdateConnectionBodySchema>;

const LastTestSchema = z
  .object({
    at: TimestampSchema.openapi({ description: 'When the host ran it' }),
    hostId: z.string().openapi({ description: 'The host that ran it' }),
    ok: z.boolean().openapi({ description: 'The host reached the server (and signed in)' }),
    latencyMs: z.number().nullable().openapi({
      description: 'The round trip of a PING (Redis) or `select 1` (Postgres); null when it failed',
    }),
    serverVersion: z.string().nullable(),
    authenticated: z.boolean().nullable(),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'Why it failed, one line of at most 500 characters, never the secret' }),
  })
  .openapi('ConnectionLastTest', {
    description:
      'The result of the last `POST /api/connections/{id}/test` (command connection.test), kept by the host that ran it; null when never tested. Not configuration: config export leaves it out.',
  });

export const ConnectionSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(CONNECTION_KINDS),
    host: z.string().nullable(),
    port: z.number().int().nullable(),
    db: z.number().int().nullable(),
    tls: z.boolean(),
    username: z.string().nullable(),
    keyPrefix: z.string().nullable(),
    nodes: z.array(z.object({ host: z.string(), port: z.number().int() })).nullable(),
    sentinelName: z.string().nullable(),
    hasPassword: z.boolean().openapi({ description: 'A password is stored (its value is never shown)' }),
    hasUrl: z.boolean().openapi({ description: 'postgres: a URL is stored (its value is never shown)' }),
    version: z.number().int().openapi({ description: 'Raised by every change' }),
    createdAt: TimestampSchema,
    createdBy: z.string(),
    updatedAt: TimestampSchema,
    updatedBy: z.string(),
    lastTest: LastTestSchema.nullable(),
  })
  .openapi('Connection');

export type ConnectionBody = z.infer<typeof ConnectionSchema>;

/**
 * What a client sees of a row: never a sealed value, not even sealed. `lastTest`: the row of
 * watchtower_connection_tests, null when the connection was never tested.
 */
export function connectionBody(row: ConnectionRow, lastTest: ConnectionTestRow | null): ConnectionBody {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    host: row.host,
    port: row.port,
    db: row.db,
    tls: row.tls,
    username: row.username,
    keyPrefix: row.keyPrefix,
    nodes: row.nodes,
    sentinelName: row.sentinelName,
    hasPassword: row.passwordSealed !== null,
    hasUrl: row.urlSealed !== null,
    version: row.version,
    createdAt: iso(row.createdAt),
    createdBy: row.createdByName,
    updatedAt: iso(row.updatedAt),
    updatedBy: row.updatedByName,
    lastTest:
      lastTest === null
        ? null
        : {
            at: iso(lastTest.testedAt),
            hostId: lastTest.hostId,
            ok: lastTest.ok,
            latencyMs: lastTest.latencyMs,
            serverVersion: lastTest.serverVersion,
            authenticated: lastTest.authenticated,
            error: lastTest.error,
          },
  };
}

export const ListConnectionsQuerySchema = z.object({
  cursor: CursorSchema.optional(),
  limit: LimitSchema,
});

export const ConnectionListSchema = z
  .object({ connections: z.array(ConnectionSchema), nextCursor: z.string().nullable() })
  .openapi('ConnectionList');
