import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

/**
 * Per-minute rollups of the health checks each host runs on each connection it uses (a Redis PING
 * and INFO, or a `select 1` on BullMQ's Postgres backend), written with the host's heartbeat
 * (worker-host/heartbeat/heartbeat.ts), never one statement per check. The host computes a
 * minute's row from all its samples of that minute and writes it whole, so a row written again
 * later in the same minute replaces the earlier one instead of adding to it (percentiles do not add).
 */
export const connectionHealth = pgTable(
  'watchtower_connection_health',
  {
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull(),
    hostId: text('host_id').notNull(),
    /** The connection's name as the host's configuration calls it. */
    connection: text('connection').notNull(),
    kind: text('kind', { enum: ['redis', 'postgres'] }).notNull(),
    checks: integer('checks').notNull(),
    errors: integer('errors').notNull(),
    /** The result of the minute's last check. */
    up: boolean('up').notNull(),
    /** Round trips of the minute's successful checks, in milliseconds (null: none succeeded). */
    latencyP50Ms: doublePrecision('latency_p50_ms'),
    latencyP95Ms: doublePrecision('latency_p95_ms'),
    /** The minute's last error, short and without credentials. */
    lastError: text('last_error'),
    // From Redis's INFO at the minute's last check that read it (null on Postgres, or when INFO failed).
    redisVersion: text('redis_version'),
    usedMemory: bigint('used_memory', { mode: 'number' }),
    maxmemory: bigint('maxmemory', { mode: 'number' }),
    maxmemoryPolicy: text('maxmemory_policy'),
    connectedClients: integer('connected_clients'),
  },
  (t) => [
    primaryKey({ columns: [t.minute, t.hostId, t.connection] }),
    // The health route's "now": the newest row of each (host, connection).
    index('watchtower_connection_health_latest').on(t.hostId, t.connection, t.minute.desc()),
  ],
);
