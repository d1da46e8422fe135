import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * Queue backends kept centrally: a Redis server, a Redis Cluster, Redis behind
 * Sentinel, or a Postgres database for BullMQ's Postgres backend. Hosts reach them by name.
 *
 * Secrets are never stored in clear: the password and the Postgres URL (which carries its own
 * password) are sealed with AES-256-GCM (core/crypto/sealed-secrets.ts) as
 * `v1.<keyId>.<iv>.<ciphertext>`, bound to this row's id and the field. Every other column is
 * not secret and is what the API shows.
 */

export const CONNECTION_KINDS = ['redis', 'redis-cluster', 'redis-sentinel', 'postgres'] as const;

export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** A Redis Cluster node or a Sentinel: where to reach it. */
export interface ConnectionNode {
  host: string;
  port: number;
}

export const connections = pgTable(
  'watchtower_connections',
  {
    // Chosen by the API before the insert: the secrets are sealed bound to it.
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind', { enum: CONNECTION_KINDS }).notNull(),
    // redis: the server; unused by the other kinds.
    host: text('host'),
    port: integer('port'),
    // redis, redis-sentinel: the database number (Redis Cluster has only 0).
    db: integer('db'),
    tls: boolean('tls').notNull().default(false),
    username: text('username'),
    // BullMQ's key prefix (`bull` when null).
    keyPrefix: text('key_prefix'),
    // redis-cluster: its nodes; redis-sentinel: the sentinels.
    nodes: jsonb('nodes').$type<ConnectionNode[]>(),
    // redis-sentinel: the name of the primary the sentinels watch.
    sentinelName: text('sentinel_name'),
    passwordSealed: text('password_sealed'),
    // postgres: the whole connection URL, sealed (it holds the password).
    urlSealed: text('url_sealed'),
    // Raised on every change, so a host can tell which configuration it runs.
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    // The actor (`kind:id`) and its name at the time, as for API tokens.
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull().default(''),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedBy: text('updated_by').notNull(),
    updatedByName: text('updated_by_name').notNull().default(''),
  },
  (t) => [
    uniqueIndex('watchtower_connections_name').on(t.name),
    check(
      'watchtower_connections_kind',
      sql`${t.kind} in ('redis', 'redis-cluster', 'redis-sentinel', 'postgres')`,
    ),
    check('watchtower_connections_port', sql`${t.port} is null or ${t.port} between 1 and 65535`),
    // A secret column holds a sealed value or nothing: a plaintext write fails here, whatever the code does.
    check(
      'watchtower_connections_sealed',
      sql`(${t.passwordSealed} is null or ${t.passwordSealed} ~ '^v1\\.[0-9a-f]{8}\\.') and (${t.urlSealed} is null or ${t.urlSealed} ~ '^v1\\.[0-9a-f]{8}\\.')`,
    ),
    check('watchtower_connections_postgres_url', sql`${t.kind} <> 'postgres' or ${t.urlSealed} is not null`),
  ],
);
