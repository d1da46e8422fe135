import type { Job } from 'bullmq';
import { type SQL, sql } from 'drizzle-orm';
import type { BulkProgress, FailedJobFilter } from '../../core/commands/command-types';
import { type Database, rowsOf } from '../../core/db/database';
import { jobMatches } from '../../core/db/job-search';
import type { QueueRegistry } from './queue-registry';

/**
 * Job commands: retry and delete one job, and retry or delete every failed job matching a filter.
 * BullMQ is the truth while it still has a job; Watchtower's rows stand in once it has forgotten it
 * (removeOnFail, a Redis flush), so a retry from the dashboard works on old failures too.
 *
 * A job id names a job only while BullMQ holds it: once removed, a producer's custom `jobId` (or a
 * flushed Redis) gives it to a new job. A command that names the job's timestamp (`timestamp`, as
 * recorded) acts on that job alone, and is refused with the reason when the id now holds another.
 * The check and the act are two calls to Redis (BullMQ has no conditional remove or retry): a job
 * removed and added again between them is the one gap left.
 */

export interface JobCommandContext {
  db: Database;
  queues: QueueRegistry;
}

export interface JobRef {
  connection: string;
  queue: string;
  jobId: string;
  /** BullMQ's timestamp of the job meant; without it, whatever job holds the id. */
  timestamp?: number | undefined;
}

export interface RetryRef extends JobRef {
  /** Retry only a job in this state; without it, a failed or a completed one. */
  state?: 'failed' | 'completed' | undefined;
}

export type RetryResult =
  | { jobId: string; queue: string; connection: string; action: 'retried'; from: 'failed' | 'completed' }
  | {
      jobId: string;
      queue: string;
      connection: string;
      action: 'readded';
      newJobId: string;
      /** The watchtower_jobs row of the original, which the new row's retry_of points at. */
      retryOf: number;
    };

export type DeleteResult = {
  jobId: string;
  queue: string;
  connection: string;
  /** `removed`: taken out of BullMQ (and its row marked deleted); `record`: only the row was left. */
  action: 'removed' | 'record';
};

export class JobCommandError extends Error {
  override readonly name = 'JobCommandError';
  constructor(
    message: string,
    /** `skip`: nothing to do for this job (bulk commands count it as skipped, not failed). */
    readonly kind: 'skip' | 'fail' = 'fail',
  ) {
    super(message);
  }
}

interface StoredJob {
  id: number;
  name: string;
  payload: unknown;
  payload_truncated: boolean;
  data_size: number;
  max_attempts: number;
  status: string;
}

/**
 * Throws when the id now holds another job than the one the command names: the job it named is
 * gone from BullMQ, and the one holding its id now was never meant.
 */
function refuseAnotherJob(job: Job, ref: JobRef, verb: 'retry' | 'delete'): void {
  if (ref.timestamp === undefined || job.timestamp === ref.timestamp) return;
  throw new JobCommandError(
    `job ${ref.jobId} in queue ${ref.queue} now holds a different job (enqueued at ${isoTime(job.timestamp)}, ` +
      `not ${isoTime(ref.timestamp)}); refusing to ${verb}`,
  );
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

export async function retryJob(context: JobCommandContext, ref: RetryRef): Promise<RetryResult> {
  const queue = context.queues.get(ref.connection, ref.queue);
  const job = (await queue.getJob(ref.jobId)) as Job | undefined;
  const base = { jobId: ref.jobId, queue: ref.queue, connection: ref.connection };
  const retryable = ref.state ? [ref.state] : ['failed', 'completed'];
  if (job) {
    refuseAnotherJob(job, ref, 'retry');
    const state = await job.getState();
    if (state !== 'failed' && state !== 'completed') {
      throw new JobCommandError(
        `job ${ref.jobId} in ${ref.queue} is ${state}, not ${retryable.join(' or ')}: nothing to retry`,
        'skip',
      );
    }
    if (!retryable.includes(state)) {
      // The sender saw it failed; it has been retried and completed since: running it again would
      // run a completed job.
      throw new JobCommandError(
        `job ${ref.jobId} in ${ref.queue} is ${state}, not ${retryable.join(' or ')}: refusing to retry`,
        'skip',
      );
    }
    await job.retry(state);
    // The row leaves the failed list now; the recorder moves it on when the job runs again.
    await context.db.execute(sql`
      update watchtower_jobs set status = 'retrying', updated_at = now()
      where connection = ${ref.connection} and queue = ${ref.queue} and job_id = ${ref.jobId}
        and job_timestamp = ${job.timestamp} and status in ('failed', 'completed')`);
    return { ...base, action: 'retried', from: state };
  }
  const stored = await findStored(context.db, ref);
  if (!stored) {
    throw new JobCommandError(
      `job ${ref.jobId} is neither in queue ${ref.queue} (connection ${ref.connection}) nor in Watchtower's records`,
      'skip',
    );
  }
  if (!retryable.includes(stored.status)) {
    // Retried already (its re-added copy is on the queue), or never failed: not again.
    throw new JobCommandError(
      `job ${ref.jobId} is no longer in queue ${ref.queue}, and its record says ${stored.status}, not ${retryable.join(' or ')}: nothing to retry`,
      'skip',
    );
  }
  if (stored.payload_truncated) {
    throw new JobCommandError(
      `job ${ref.jobId} is no longer in queue ${ref.queue}, and its stored payload was cut down when recorded (${stored.data_size} bytes): it cannot be re-added`,
    );
  }
  const added = await queue.add(stored.name, stored.payload, {
    ...(stored.max_attempts > 1 ? { attempts: stored.max_attempts } : {}),
  });
  const newJobId = String(added.id);
  // The new job's row is written now, with its link, so the link exists whatever the recorder
  // writes first; the recorder's own upsert of the same job (keyed by BullMQ's timestamp too) fills
  // in the rest.
  await context.db.execute(sql`
    with original as (
      update watchtower_jobs set status = 'retrying', updated_at = now()
      where id = ${stored.id} and status = 'failed'
      returning id
    )
    insert into watchtower_jobs (job_id, job_timestamp, queue, connection, name, payload, data_size, status,
                                 max_attempts, retry_of, queued_at)
    values (${newJobId}, ${added.timestamp}, ${ref.queue}, ${ref.connection}, ${stored.name},
            ${JSON.stringify(stored.payload ?? null)}::jsonb, ${stored.data_size}, 'queued', ${stored.max_attempts},
            ${stored.id}, to_timestamp(${added.timestamp}::float8 / 1000.0))
    on conflict (connection, queue, job_id, job_timestamp) do update set retry_of = excluded.retry_of`);
  return { ...base, action: 'readded', newJobId, retryOf: stored.id };
}

export async function deleteJob(context: JobCommandContext, ref: JobRef): Promise<DeleteResult> {
  const queue = context.queues.get(ref.connection, ref.queue);
  const job = (await queue.getJob(ref.jobId)) as Job | undefined;
  const base = { jobId: ref.jobId, queue: ref.queue, connection: ref.connection };
  if (job) {
    refuseAnotherJob(job, ref, 'delete');
    try {
      await job.remove();
    } catch (error) {
      throw new JobCommandError(
        `job ${ref.jobId} in ${ref.queue} cannot be removed: ${(error as Error).message}`,
      );
    }
  }
  // The row of the job meant, or of the one removed; else the newest job of the id.
  const timestamp = ref.timestamp ?? job?.timestamp;
  const rows = rowsOf<{ id: number }>(
    await context.db.execute(sql`
      update watchtower_jobs set status = 'deleted', updated_at = now()
      where connection = ${ref.connection} and queue = ${ref.queue} and job_id = ${ref.jobId}
        and job_timestamp = ${timestamp === undefined ? newestJob(ref) : sql`${timestamp}`}
      returning id`),
  );
  if (!job && rows.length === 0) {
    throw new JobCommandError(
      `job ${ref.jobId} is neither in queue ${ref.queue} (connection ${ref.connection}) nor in Watchtower's records`,
      'skip',
    );
  }
  return { ...base, action: job ? 'removed' : 'record' };
}

export interface BulkOptions {
  connection: string;
  filter: FailedJobFilter;
  limit: number;
  /** Called after each batch; the final result is the last progress with `complete` set. */
  onProgress?: (progress: BulkProgress) => Promise<void>;
  /** Aborted when the host terminates: the command answers with what it did so far. */
  signal?: AbortSignal;
}

const BATCH = 200;
const PARALLEL = 8;
const MAX_ERRORS = 20;

/**
 * Retries or deletes every failed job of one connection that matches the filter, in batches
 * walked by key (queued_at, id) down the failed-list index, so it never rereads what it did and
 * each batch is one short index scan.
 */
export async function bulkFailed(
  context: JobCommandContext,
  action: 'retry' | 'delete',
  options: BulkOptions,
): Promise<BulkProgress> {
  const progress: BulkProgress = {
    processed: 0,
    retried: 0,
    readded: 0,
    deleted: 0,
    skipped: 0,
    failed: 0,
    errors: [],
    complete: false,
  };
  let cursor: { queuedAt: string; id: number } | undefined;
  for (;;) {
    if (options.signal?.aborted) break;
    const room = options.limit - progress.processed;
    if (room <= 0) break;
    const rows = await failedBatch(
      context.db,
      options.connection,
      options.filter,
      cursor,
      Math.min(BATCH, room),
    );
    if (rows.length === 0) {
      progress.complete = true;
      break;
    }
    const last = rows[rows.length - 1]!;
    cursor = { queuedAt: last.queued_at, id: Number(last.id) };
    for (let i = 0; i < rows.length; i += PARALLEL) {
      await Promise.all(
        rows.slice(i, i + PARALLEL).map(async (row) => {
          // The job the row is about, and no other that took its id since.
          const ref = {
            connection: options.connection,
            queue: row.queue,
            jobId: row.job_id,
            timestamp: Number(row.job_timestamp),
          };
          try {
            if (action === 'retry') {
              const result = await retryJob(context, { ...ref, state: 'failed' });
              if (result.action === 'retried') progress.retried++;
              else progress.readded++;
            } else {
              await deleteJob(context, ref);
              progress.deleted++;
            }
          } catch (error) {
            if (error instanceof JobCommandError && error.kind === 'skip') {
              progress.skipped++;
            } else {
              progress.failed++;
              if (progress.errors.length < MAX_ERRORS) {
                progress.errors.push({
                  jobId: row.job_id,
                  queue: row.queue,
                  error: (error as Error).message,
                });
              }
            }
          }
          progress.processed++;
        }),
      );
    }
    await options.onProgress?.({ ...progress, errors: [...progress.errors] });
  }
  return progress;
}

/** The newest job of the ref's id, as SQL: the one a command that names no timestamp means. */
function newestJob(ref: JobRef): SQL {
  return sql`(select max(job_timestamp) from watchtower_jobs
              where connection = ${ref.connection} and queue = ${ref.queue} and job_id = ${ref.jobId})`;
}

/** The job's row: the one with the ref's timestamp, or the newest of its id. */
async function findStored(db: Database, ref: JobRef): Promise<StoredJob | undefined> {
  const rows = rowsOf<StoredJob>(
    await db.execute(sql`
      select id, name, payload, payload_truncated, data_size, max_attempts, status from watchtower_jobs
      where connection = ${ref.connection} and queue = ${ref.queue} and job_id = ${ref.jobId}
        ${ref.timestamp === undefined ? sql`` : sql`and job_timestamp = ${ref.timestamp}`}
      order by job_timestamp desc
      limit 1`),
  );
  const row = rows[0];
  return row ? { ...row, id: Number(row.id) } : undefined;
}

interface FailedRow {
  id: number | string;
  job_id: string;
  job_timestamp: number | string;
  queue: string;
  queued_at: string;
}

async function failedBatch(
  db: Database,
  connection: string,
  filter: FailedJobFilter,
  cursor: { queuedAt: string; id: number } | undefined,
  limit: number,
): Promise<FailedRow[]> {
  const conditions: SQL[] = [sql`status = 'failed'`, sql`connection = ${connection}`];
  if (filter.queue) conditions.push(sql`queue = ${filter.queue}`);
  if (filter.name) conditions.push(sql`name = ${filter.name}`);
  // The failed list's own search, so a bulk command touches exactly the jobs the list showed.
  if (filter.search) conditions.push(jobMatches(filter.search));
  if (filter.failedAfter)
    conditions.push(sql`coalesce(completed_at, updated_at) >= ${filter.failedAfter}::timestamptz`);
  if (filter.failedBefore)
    conditions.push(sql`coalesce(completed_at, updated_at) < ${filter.failedBefore}::timestamptz`);
  if (cursor) conditions.push(sql`(queued_at, id) < (${cursor.queuedAt}::timestamptz, ${cursor.id})`);
  return rowsOf<FailedRow>(
    await db.execute(sql`
      select id, job_id, job_timestamp, queue,
        to_char(queued_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as queued_at
      from watchtower_jobs where ${sql.join(conditions, sql` and `)}
      order by queued_at desc, id desc limit ${limit}`),
  );
}
