import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** One running worker-host process tree. Heartbeats keep `last_heartbeat` fresh. */
export const hosts = pgTable(
  'watchtower_hosts',
  {
    hostId: text('host_id').primaryKey(),
    hostname: text('hostname').notNull(),
    pid: integer('pid').notNull(),
    version: text('version').notNull().default(''),
    status: text('status', { enum: ['running', 'paused', 'terminating', 'stopped', 'dead'] })
      .notNull()
      .default('running'),
    connections: jsonb('connections').$type<string[]>().notNull().default([]),
    supervisors: jsonb('supervisors').$type<unknown[]>().notNull().default([]),
    memoryBytes: bigint('memory_bytes', { mode: 'number' }),
    // What the host counts about itself (bus polls, heartbeats, the recorder's figures), as of the
    // last heartbeat: for `watchtower status`, the dashboard and the benchmark.
    stats: jsonb('stats').$type<Record<string, unknown>>().notNull().default({}),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastHeartbeat: timestamp('last_heartbeat', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    // Its `--labels`: which supervisors kept in the database it runs.
    labels: jsonb('labels').$type<string[]>().notNull().default([]),
    // Whether it takes supervisors kept in the database (started with a processors directory).
    databaseConfig: boolean('database_config').notNull().default(false),
    // The database configuration version it applied (watchtower_config_version); null: none.
    configVersion: bigint('config_version', { mode: 'number' }),
    // Why loading or applying that configuration failed, or what it refused; null: all applied.
    configError: text('config_error'),
    // Whether it has WATCHTOWER_ENCRYPTION_KEY (can open connections' secrets); null: not reported.
    encryptionKey: boolean('encryption_key'),
  },
  (t) => [index('watchtower_hosts_heartbeat').on(t.lastHeartbeat.desc())],
);

/** One worker process: a child of a host's supervisor running one BullMQ Worker. */
export const workers = pgTable(
  'watchtower_workers',
  {
    workerId: text('worker_id').primaryKey(),
    hostId: text('host_id').notNull(),
    supervisor: text('supervisor').notNull(),
    connection: text('connection').notNull().default('default'),
    queue: text('queue').notNull(),
    pid: integer('pid'),
    status: text('status', {
      enum: ['starting', 'running', 'paused', 'stopping', 'stopped', 'restarting', 'dead'],
    })
      .notNull()
      .default('starting'),
    currentJob: text('current_job'),
    jobsProcessed: bigint('jobs_processed', { mode: 'number' }).notNull().default(0),
    jobsFailed: bigint('jobs_failed', { mode: 'number' }).notNull().default(0),
    memoryBytes: bigint('memory_bytes', { mode: 'number' }),
    // Processes this worker id has had after its first (crashes, memory restarts, restart commands).
    restarts: integer('restarts').notNull().default(0),
    // Why its last process died or could not start (a processor that fails to load, a signal).
    lastError: text('last_error'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastHeartbeat: timestamp('last_heartbeat', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('watchtower_workers_host').on(t.hostId, t.supervisor),
    index('watchtower_workers_live')
      .on(t.lastHeartbeat.desc())
      .where(sql`${t.status} <> 'dead' and ${t.status} <> 'stopped'`),
  ],
);
