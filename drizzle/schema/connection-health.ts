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

/**
 * Hourly rollups of watchtower_connection_health per host and connection, recomputed from the
 * minute rows by the Cloudflare Worker's cron (functions/housekeeping/rollup-connection-health.ts)
 * and kept longer than the minutes (the longer of their retention and 90 days), so the 24-hour to
 * 90-day health ranges read ~24 rows per host and connection a day instead of ~1,440. `checks` and
 * `errors` add up; `up` is the hour's last minute's; p50 is the median of the minutes' p50s and p95
 * the 95th percentile of their p95s (the minute rows keep no distribution to merge exactly); the
 * error and the INFO figures are the hour's newest. `rolled_at` says when the hour was last
 * recomputed: the health query trusts an hour only once it was recomputed after it ended (like
 * watchtower_metrics_hourly), and a minute row written into an hour afterwards marks the hour
 * untrusted again (a trigger: migration connection_health_hourly_stale).
 */
export const connectionHealthHourly = pgTable(
  'watchtower_connection_health_hourly',
  {
    hour: timestamp('hour', { withTimezone: true, mode: 'date' }).notNull(),
    hostId: text('host_id').notNull(),
    connection: text('connection').notNull(),
    kind: text('kind', { enum: ['redis', 'postgres'] }).notNull(),
    checks: integer('checks').notNull(),
    errors: integer('errors').notNull(),
    /** The result of the hour's last check (its newest minute's). */
    up: boolean('up').notNull(),
    /** The newest minute of the hour the host wrote a row for: when it last checked in the hour. */
    lastMinute: timestamp('last_minute', { withTimezone: true, mode: 'date' }).notNull(),
    latencyP50Ms: doublePrecision('latency_p50_ms'),
    latencyP95Ms: doublePrecision('latency_p95_ms'),
    /** The hour's newest error and its minute. */
    lastError: text('last_error'),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true, mode: 'date' }),
    // From the hour's newest minute that read Redis's INFO.
    redisVersion: text('redis_version'),
    usedMemory: bigint('used_memory', { mode: 'number' }),
    maxmemory: bigint('maxmemory', { mode: 'number' }),
    maxmemoryPolicy: text('maxmemory_policy'),
    connectedClients: integer('connected_clients'),
    rolledAt: timestamp('rolled_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.hostId, t.connection] })],
);
