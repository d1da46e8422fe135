import { type SQL, sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from './database';

/**
 * Job retention, shared by the Cloudflare Worker's cron and `watchtower prune`, so both agree on
 * what "old" is and delete a job's attempts with it.
 */

/** Jobs in one of `statuses` that finished more than `days` ago: a range on watchtower_jobs_completed_at. */
export function finishedBefore(statuses: readonly string[], days: number): SQL {
  const list = sql.join(
    statuses.map((status) => sql`${status}`),
    sql`, `,
  );
  return sql`status in (${list}) and completed_at is not null
    and completed_at < now() - make_interval(secs => ${Math.round(days * 86_400)}::double precision)`;
}

/**
 * Deletes at most `limit` jobs matching `condition`, with their attempts, in one statement. Rows
 * another run holds are skipped, so two overlapping runs never wait on each other; `oldestFirst`
 * walks the completed_at index instead of taking any matching rows.
 */
export async function deleteJobBatch(
  db: StatementDatabase,
  condition: SQL,
  limit: number,
  options: { oldestFirst?: boolean } = {},
): Promise<{ jobs: number; attempts: number }> {
  const order = options.oldestFirst ? sql`order by completed_at` : sql``;
  const rows = rowsOf<{ jobs: number; attempts: number }>(
    await db.execute(sql`
      with doomed as (
        select id, connection, queue, job_id, job_timestamp from watchtower_jobs
        where ${condition}
        ${order}
        limit ${limit}
        for update skip locked
      ), attempts as (
        delete from watchtower_job_attempts a using doomed d
        where a.connection = d.connection and a.queue = d.queue and a.job_id = d.job_id
          and a.job_timestamp = d.job_timestamp
        returning 1
      ), jobs as (
        delete from watchtower_jobs where id in (select id from doomed) returning 1
      )
      select (select count(*) from jobs)::int as jobs, (select count(*) from attempts)::int as attempts`),
  );
  return { jobs: Number(rows[0]?.jobs ?? 0), attempts: Number(rows[0]?.attempts ?? 0) };
}
