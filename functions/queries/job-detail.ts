import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import type { JobAttempt, JobDetail, JobGeneration, JobSummary, TimelineEvent } from './job-schemas';
import { type JobRow, jobColumns, toJobSummary } from './list-jobs';
import { isoText, query } from './sql';

/**
 * How a route names one job: Watchtower's row id, or BullMQ's key. A job id may have been given to
 * several jobs over time (BullMQ reuses the id of a removed job): `timestamp` (BullMQ's, the API's
 * `jobTimestamp`) picks one; without it, the newest.
 */
export type JobRef =
  | { id: number }
  | { connection: string; queue: string; jobId: string; timestamp?: number | undefined };

interface DetailRow extends JobRow {
  payload: unknown;
  result: unknown;
  updated_at: string;
  attempt_history: JobAttempt[] | null;
  worker_host_id: string | null;
  generations: JobGeneration[] | null;
}

// A job retried without end must not make its detail page unbounded.
const MAX_ATTEMPTS_SHOWN = 200;
// Nor a job id reused without end (a producer's fixed id for a recurring job).
const MAX_GENERATIONS_SHOWN = 50;

/**
 * One job with its attempts, in one statement: the row by primary key or by the natural-key index
 * (the newest of its id, or the one with the given timestamp), its attempts by the (connection,
 * queue, job_id, job_timestamp, attempt) unique index, and the jobs of the same id by the
 * natural-key index. Null when there is none.
 */
export async function findJob(db: StatementDatabase, ref: JobRef): Promise<JobDetail | null> {
  const where: SQL =
    'id' in ref
      ? sql`j.id = ${ref.id}`
      : sql`j.connection = ${ref.connection} and j.queue = ${ref.queue} and j.job_id = ${ref.jobId}
            ${ref.timestamp === undefined ? sql`` : sql`and j.job_timestamp = ${ref.timestamp}`}`;
  // By key: the newest job of the id, unless the timestamp named one.
  const pick: SQL = 'id' in ref ? sql`` : sql`order by j.job_timestamp desc limit 1`;
  const rows = await query<DetailRow>(
    db,
    sql`select ${jobColumns()}, j.payload, j.result, ${isoText(sql`j.updated_at`)} as updated_at,
          (select json_agg(json_build_object(
                    'attempt', a.attempt, 'status', a.status, 'workerId', a.worker_id, 'hostId', a.host_id,
                    'startedAt', ${isoText(sql`a.started_at`)}, 'finishedAt', ${isoText(sql`a.finished_at`)},
                    'runMs', a.run_ms, 'errorMessage', a.error_message, 'errorStack', a.error_stack)
                  order by a.attempt)
           from (select * from watchtower_job_attempts a
                 where a.connection = j.connection and a.queue = j.queue and a.job_id = j.job_id
                   and a.job_timestamp = j.job_timestamp
                 order by a.attempt limit ${MAX_ATTEMPTS_SHOWN}) a) as attempt_history,
          (select json_agg(json_build_object('id', g.id, 'jobTimestamp', g.job_timestamp, 'status', g.status,
                    'queuedAt', ${isoText(sql`g.queued_at`)}) order by g.job_timestamp desc)
           from (select id, job_timestamp, status, queued_at from watchtower_jobs g
                 where g.connection = j.connection and g.queue = j.queue and g.job_id = j.job_id
                 order by g.job_timestamp desc limit ${MAX_GENERATIONS_SHOWN}) g) as generations,
          (select w.host_id from watchtower_workers w where w.worker_id = j.worker_id) as worker_host_id
        from watchtower_jobs j where ${where} ${pick}`,
  );
  const row = rows[0];
  if (!row) return null;
  const summary = toJobSummary(row);
  const attemptHistory = withFirstRun(summary, row.attempt_history ?? [], row.worker_host_id);
  return {
    ...summary,
    hostId: hostOf(summary.workerId, row.worker_host_id, attemptHistory),
    payload: row.payload ?? null,
    result: row.result ?? null,
    updatedAt: row.updated_at,
    attemptHistory,
    timeline: timelineOf(summary, attemptHistory),
    generations: (row.generations ?? []).map((g) => ({
      ...g,
      id: Number(g.id),
      jobTimestamp: Number(g.jobTimestamp),
    })),
  };
}

/**
 * The host of the worker process that ran the job last: the worker's row says it while the host is
 * known; once the row is pruned, the attempt that worker ran still does (the recorder writes each
 * attempt's host).
 */
function hostOf(workerId: string | null, workerHostId: string | null, attempts: readonly JobAttempt[]) {
  if (workerId === null) return null;
  if (workerHostId !== null) return workerHostId;
  return (
    attempts.findLast((attempt) => attempt.workerId === workerId && attempt.hostId !== null)?.hostId ?? null
  );
}

/**
 * A job that completed on its first run has no attempt row: the recorder keeps that run in the job
 * row (worker-host/recorder/flush-statement.ts). It is shown as the attempt it was, also while the
 * job waits to run again after a retry (its next run moves the first into an attempt row).
 */
function withFirstRun(
  job: Pick<
    JobSummary,
    'status' | 'attempts' | 'workerId' | 'startedAt' | 'completedAt' | 'runMs' | 'exception'
  >,
  attempts: JobAttempt[],
  hostId: string | null,
): JobAttempt[] {
  const completedRun =
    job.status === 'completed' ||
    (job.status === 'retrying' && job.exception === null && job.completedAt !== null);
  if (!completedRun || job.attempts !== 1 || attempts.length > 0 || job.startedAt === null) {
    return attempts;
  }
  return [
    {
      attempt: 1,
      status: 'completed',
      workerId: job.workerId,
      hostId,
      startedAt: job.startedAt,
      finishedAt: job.completedAt,
      runMs: job.runMs,
      errorMessage: null,
      errorStack: null,
    },
  ];
}

/**
 * The job's life, oldest first: queued, each attempt's start and end, and the final state. Where
 * the recorder kept no attempt rows (jobs recorded only at the end), the job's own times stand in.
 */
export function timelineOf(
  job: Pick<
    JobDetail,
    'status' | 'queuedAt' | 'startedAt' | 'completedAt' | 'workerId' | 'exception' | 'attempts'
  >,
  attempts: readonly JobAttempt[],
): TimelineEvent[] {
  const events: TimelineEvent[] = [event(job.queuedAt, 'queued')];
  for (const attempt of attempts) {
    // A run cut off with its host may have no recorded start: only its end is shown.
    if (attempt.startedAt !== null) {
      events.push(event(attempt.startedAt, 'started', attempt.attempt, attempt.workerId));
    }
    if (attempt.finishedAt !== null && attempt.status !== 'processing') {
      events.push(
        event(attempt.finishedAt, attempt.status, attempt.attempt, attempt.workerId, attempt.errorMessage),
      );
    }
  }
  if (attempts.length === 0 && job.startedAt !== null) {
    events.push(event(job.startedAt, 'started', job.attempts || null, job.workerId));
  }
  const finished = attempts.some((attempt) => attempt.status === job.status && attempt.finishedAt !== null);
  if ((job.status === 'completed' || job.status === 'failed') && job.completedAt !== null && !finished) {
    events.push(
      event(
        job.completedAt,
        job.status,
        job.attempts || null,
        job.workerId,
        job.status === 'failed' ? job.exception : null,
      ),
    );
  }
  // Stable: equal instants keep the order above (queued before started before finished).
  return events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function event(
  at: string,
  name: TimelineEvent['event'],
  attempt: number | null = null,
  workerId: string | null = null,
  message: string | null = null,
): TimelineEvent {
  return { at, event: name, attempt, workerId, message };
}
