import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * Where each queue's watcher got to, so a restarted host neither misses nor re-reads history:
 * the last BullMQ event stream id whose `added` jobs are recorded, and the finish time up to which
 * the sweep has checked the completed and failed sets against `watchtower_jobs`.
 *
 * One host at a time watches a queue: `owner` holds a lease until `lease_until`, renewed by every
 * sweep; another host takes over once it lapses.
 */
export const recorderCursors = pgTable(
  'watchtower_recorder_cursors',
  {
    connection: text('connection').notNull(),
    queue: text('queue').notNull(),
    lastEventId: text('last_event_id'),
    sweptUntil: timestamp('swept_until', { withTimezone: true, mode: 'date' }),
    owner: text('owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.connection, t.queue] })],
);

/**
 * Rows the recorder could not write because Postgres refused them for their content (a data
 * error that no retry fixes), set aside here with the error so they hold back nothing. The row is
 * kept as the JSON the recorder would have written (escaped, so storable as text), capped.
 */
export const recorderDeadLetters = pgTable(
  'watchtower_recorder_dead_letters',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    hostId: text('host_id').notNull(),
    connection: text('connection').notNull(),
    queue: text('queue').notNull(),
    jobId: text('job_id').notNull(),
    /** The table the row was for: `job` (watchtower_jobs) or `attempt` (watchtower_job_attempts). */
    kind: text('kind', { enum: ['job', 'attempt'] }).notNull(),
    attempt: integer('attempt'),
    row: text('row').notNull(),
    rowTruncated: boolean('row_truncated').notNull().default(false),
    error: text('error').notNull(),
    sqlstate: text('sqlstate'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // The same row set aside twice (a retry after the connection dropped mid-way) is kept once.
    uniqueIndex('watchtower_recorder_dead_letters_row').on(sql`md5(${t.row})`),
    // Per host (GET /api/hosts counts them) and per queue, newest first.
    index('watchtower_recorder_dead_letters_host').on(t.hostId, t.id.desc()),
    index('watchtower_recorder_dead_letters_queue').on(t.connection, t.queue, t.id.desc()),
  ],
);
