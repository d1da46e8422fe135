import { sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../core/db/database';
import { storedText } from './clean-rows';

/**
 * The queue watcher's sweep asks Postgres which jobs Redis knows that the recorder has not written
 * (queue-watcher.ts). A job is its id and BullMQ's timestamp: once a job is gone (removeOnComplete,
 * a flushed Redis), a producer's custom `jobId` gives its id to a new job, so "a row with this id
 * exists" does not mean "this job is recorded". Each check is one statement per page of ids, one
 * probe per id on the natural key (watchtower_jobs_natural_key), as before ids could be reused.
 *
 * An id is looked up as the recorder stores it (cleaned: an id with a NUL would make Postgres refuse
 * the whole query, and every sweep after it), and answered by its place in the page.
 */

export interface RecordedJob {
  /** The attempt number Postgres has for the job (0 when it has no row). */
  attempts: number;
  /** BullMQ's timestamp of the job the row is about; undefined when there is no row. */
  jobTimestamp: number | undefined;
}

/**
 * Of finished jobs, those whose finish Postgres lacks, each with the row that stands for it.
 * `finishes` maps an id to its finish time in Redis (the finished set's score, which is BullMQ's
 * `finishedOn`, as the recorder stores it in completed_at), or to undefined for a finish known only
 * from the event stream (Redis removed the job, and with it its timestamp and finish time).
 *
 * With a finish time, the job is the newest of its id queued at or before it: the finish is
 * recorded when that row is final and finished then (not earlier: an earlier finish is an earlier
 * job's, whose id this one reuses). Without one, the finish is taken to be the newest job's.
 */
export async function lackingFinishes(
  db: Database,
  connection: string,
  queue: string,
  finishes: ReadonlyMap<string, number | undefined>,
  pageSize: number,
): Promise<Map<string, RecordedJob>> {
  const missing = new Map<string, RecordedJob>();
  const entries = [...finishes];
  for (let i = 0; i < entries.length; i += pageSize) {
    const page = entries.slice(i, i + pageSize);
    const result = await db.execute(sql`
      select i.n, coalesce(g.attempts, 0) as attempts, g.job_timestamp
      from unnest(${sql.param(page.map(([id]) => storedText(id)))}::text[],
                  ${sql.param(page.map(([, at]) => at ?? null))}::float8[]) with ordinality as i(id, at, n)
      left join lateral (
        select j.attempts, j.job_timestamp, j.status, j.completed_at from watchtower_jobs j
        where j.connection = ${connection} and j.queue = ${queue} and j.job_id = i.id
          and (i.at is null or j.job_timestamp <= i.at)
        order by j.job_timestamp desc
        limit 1
      ) g on true
      where g.status is null or g.status not in ('completed', 'failed')
        or (i.at is not null and g.completed_at < to_timestamp((i.at - 1) / 1000.0))`);
    for (const row of rowsOf<{
      n: number | string;
      attempts: number | string;
      job_timestamp: number | string | null;
    }>(result)) {
      const id = page[Number(row.n) - 1]?.[0];
      if (id === undefined) continue;
      missing.set(id, {
        attempts: Number(row.attempts),
        jobTimestamp: row.job_timestamp === null ? undefined : Number(row.job_timestamp),
      });
    }
  }
  return missing;
}

/**
 * Of waiting (or delayed) jobs' ids, those that may lack a row, each with the timestamp of the
 * newest row of its id (undefined when there is none). A job whose id has a row in a final state is
 * among them: it is either that job, put back by a retry (same timestamp), or a new job reusing
 * the id (a later one); only reading it from Redis tells which.
 */
export async function lackingWaiting(
  db: Database,
  connection: string,
  queue: string,
  ids: readonly string[],
  pageSize: number,
): Promise<Map<string, number | undefined>> {
  const missing = new Map<string, number | undefined>();
  for (let i = 0; i < ids.length; i += pageSize) {
    const page = ids.slice(i, i + pageSize);
    const result = await db.execute(sql`
      select i.n, g.job_timestamp
      from unnest(${sql.param(page.map(storedText))}::text[]) with ordinality as i(id, n)
      left join lateral (
        select j.job_timestamp, j.status from watchtower_jobs j
        where j.connection = ${connection} and j.queue = ${queue} and j.job_id = i.id
        order by j.job_timestamp desc
        limit 1
      ) g on true
      where g.status is null or g.status in ('completed', 'failed', 'deleted')`);
    for (const row of rowsOf<{ n: number | string; job_timestamp: number | string | null }>(result)) {
      const id = page[Number(row.n) - 1];
      if (id !== undefined)
        missing.set(id, row.job_timestamp === null ? undefined : Number(row.job_timestamp));
    }
  }
  return missing;
}
