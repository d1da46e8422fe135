import { type SQL, sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * Job retention: completed (and deleted) jobs after WATCHTOWER_RETENTION_COMPLETED_DAYS, failed
 * jobs after WATCHTOWER_RETENTION_FAILED_DAYS, each with its attempts, by completion time. The same
 * conditions as `watchtower prune` (worker-host/cli/prune-command.ts), so both agree on what "old" is.
 */

async function pruneJobBatch(db: Database, statuses: SQL, days: number, batchSize: number) {
  // Oldest first along watchtower_jobs_completed_at; skip locked so two overlapping runs never wait
  // on each other's rows.
  const rows = rowsOf<{ jobs: number; attempts: number }>(
    await db.execute(sql`
      with doomed as (
        select id, connection, queue, job_id from watchtower_jobs
        where status in (${statuses}) and completed_at is not null
          and completed_at < now() - make_interval(secs => ${daysToSeconds(days)}::double precision)
        order by completed_at
        limit ${batchSize}
        for update skip locked
      ), attempts as (
        delete from watchtower_job_attempts a using doomed d
        where a.connection = d.connection and a.queue = d.queue and a.job_id = d.job_id
        returning 1
      ), jobs as (
        delete from watchtower_jobs where id in (select id from doomed) returning 1
      )
      select (select count(*) from jobs)::int as jobs, (select count(*) from attempts)::int as attempts`),
  );
  return { jobs: Number(rows[0]?.jobs ?? 0), attempts: Number(rows[0]?.attempts ?? 0) };
}

function jobRetentionStep(
  name: string,
  variable: 'WATCHTOWER_RETENTION_COMPLETED_DAYS' | 'WATCHTOWER_RETENTION_FAILED_DAYS',
  fallback: number,
  statuses: SQL,
): HousekeepingStep {
  return {
    name,
    async run({ db, env }) {
      const days = retentionDays(env, variable, fallback);
      if (days === 0) return 'kept (retention 0)';
      const bounds = pruneBounds(env);
      let attempts = 0;
      const jobs = await inBatches(bounds, async () => {
        const deleted = await pruneJobBatch(db, statuses, days, bounds.batchSize);
        attempts += deleted.attempts;
        return deleted.jobs;
      });
      return `${jobs} older than ${days} d (${attempts} attempts)`;
    },
  };
}

export const pruneCompletedJobs = jobRetentionStep(
  'completed jobs',
  'WATCHTOWER_RETENTION_COMPLETED_DAYS',
  HOUSEKEEPING_DEFAULTS.completedDays,
  sql`'completed', 'deleted'`,
);

export const pruneFailedJobs = jobRetentionStep(
  'failed jobs',
  'WATCHTOWER_RETENTION_FAILED_DAYS',
  HOUSEKEEPING_DEFAULTS.failedDays,
  sql`'failed'`,
);
