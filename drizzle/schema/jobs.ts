import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * How much of a job's text is searched: its id, name and exception (message and stack) up to
 * SEARCH_IDENTITY_CHARS, and the start of its data's JSON text, capped so a big payload costs no
 * more to index than a small one (and no text can overflow a tsvector).
 */
export const SEARCH_IDENTITY_CHARS = 8192;
export const SEARCH_DATA_CHARS = 256;

/**
 * One row per BullMQ job, kept after Redis has forgotten it. `(connection, queue, job_id,
 * job_timestamp)` is the natural key: BullMQ job ids are only unique inside one queue of one
 * backend, and only among the jobs it holds at one time. Once a job is gone (removeOnComplete, a
 * flushed Redis), a producer's custom `jobId` gives its id to a new job: BullMQ's timestamp of the
 * job tells the two apart, and each keeps its own row and attempts.
 */
export const jobs = pgTable(
  'watchtower_jobs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    jobId: text('job_id').notNull(),
    queue: text('queue').notNull(),
    connection: text('connection').notNull().default('default'),
    name: text('name').notNull().default(''),
    payload: jsonb('payload'),
    // Payloads over the cap are stored cut down; the flag tells the dashboard to say so.
    payloadTruncated: boolean('payload_truncated').notNull().default(false),
    // Some of the job's recorded text (data, name, exception, result) held what Postgres refuses (NUL,
    // lone surrogates: replaced by U+FFFD), or a value JSON cannot hold (replaced by a marker).
    sanitized: boolean('sanitized').notNull().default(false),
    dataSize: integer('data_size').notNull().default(0),
    status: text('status', {
      enum: ['queued', 'delayed', 'processing', 'completed', 'failed', 'retrying', 'deleted'],
    })
      .notNull()
      .default('queued'),
    workerId: text('worker_id'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(1),
    exception: text('exception'),
    result: jsonb('result'),
    // A job re-added from its stored payload after BullMQ dropped it points at the original row.
    retryOf: bigint('retry_of', { mode: 'number' }),
    queuedAt: timestamp('queued_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    // BullMQ's `job.timestamp` (ms since the epoch), which queued_at also holds: the job's identity
    // as BullMQ gave it, exact and cheap to compare. Never updated once written. (Migration 0014
    // filled it from queued_at as a generated column, 0016 made it a plain one: computed for every
    // row written, the expression cost the recorder about 1 µs a row.)
    jobTimestamp: bigint('job_timestamp', { mode: 'number' }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
    waitMs: integer('wait_ms'),
    runMs: integer('run_ms'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    // The words a search matches (migration 0011 defines watchtower_search_text and the query side,
    // watchtower_search_query). Stored rather than only indexed: the jobs list tests the newest
    // rows of its ordered walk against it first (functions/queries/list-jobs.ts), and recomputing
    // it there for every row would cost more than the walk.
    searchVector: tsvector('search_vector').generatedAlwaysAs(
      sql.raw(
        `to_tsvector('simple'::regconfig, watchtower_search_text(` +
          `left(job_id || ' ' || name || ' ' || coalesce(exception, ''), ${SEARCH_IDENTITY_CHARS}) || ' ' || ` +
          `coalesce(left(payload::text, ${SEARCH_DATA_CHARS}), '')))`,
      ),
    ),
  },
  (t) => [
    // Also the newest job of an id (detail by BullMQ's key): the last entry of its id.
    uniqueIndex('watchtower_jobs_natural_key').on(t.connection, t.queue, t.jobId, t.jobTimestamp),
    // Recent jobs, newest first (dashboard poll and the unfiltered jobs list).
    index('watchtower_jobs_recent').on(t.queuedAt.desc(), t.id.desc()),
    // Jobs list filtered by status, and the failed list.
    index('watchtower_jobs_status_recent').on(t.status, t.queuedAt.desc(), t.id.desc()),
    // Jobs list filtered by queue (and optionally status).
    index('watchtower_jobs_queue_status_recent').on(t.queue, t.status, t.queuedAt.desc(), t.id.desc()),
    // Retention pruning walks finished jobs by age.
    index('watchtower_jobs_completed_at').on(t.completedAt).where(sql`${t.completedAt} is not null`),
    index('watchtower_jobs_worker').on(t.workerId).where(sql`${t.status} = 'processing'`),
    // Jobs running now per queue (GET /api/queues): an index-only walk of the few processing rows
    // instead of a heap fetch per row (on 1M rows: 1,000 processing jobs cost ~12 ms that way).
    index('watchtower_jobs_processing').on(t.connection, t.queue).where(sql`${t.status} = 'processing'`),
    // Search: a word lookup whatever the table's size.
    index('watchtower_jobs_search').using('gin', t.searchVector),
  ],
);

/** One row per run of a job by a worker process; its job is the row with the same natural key. */
export const jobAttempts = pgTable(
  'watchtower_job_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    connection: text('connection').notNull().default('default'),
    queue: text('queue').notNull(),
    jobId: text('job_id').notNull(),
    jobTimestamp: bigint('job_timestamp', { mode: 'number' }).notNull(),
    attempt: integer('attempt').notNull(),
    workerId: text('worker_id'),
    hostId: text('host_id'),
    status: text('status', { enum: ['processing', 'completed', 'failed', 'stalled'] }).notNull(),
    /** Null for a run cut off with its host before its start was recorded (a `stalled` row). */
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    runMs: integer('run_ms'),
    errorMessage: text('error_message'),
    errorStack: text('error_stack'),
  },
  (t) => [
    uniqueIndex('watchtower_job_attempts_key').on(t.connection, t.queue, t.jobId, t.jobTimestamp, t.attempt),
    // The few attempts running now: the recorder completes first runs among them, in one join,
    // instead of probing the key for every job it writes.
    index('watchtower_job_attempts_running')
      .on(t.connection, t.queue, t.jobId, t.jobTimestamp)
      .where(sql`${t.status} = 'processing'`),
  ],
);
