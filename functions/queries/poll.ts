import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import type { JobSummary } from './job-schemas';
import { JOB_STATS_SQL, type JobStats, type StatsRow, toJobStats } from './job-stats';
import { type JobPageRow, jobPageSql, toJobPage } from './list-jobs';
import { type OpenCommandRow, openCommandsSql } from './open-commands';
import { query } from './sql';
import { toWorkerPage, type WorkerDbRow, type WorkerFilter, type WorkerRow, workersSql } from './workers';

export interface PollSnapshot {
  stats: JobStats;
  recentJobs: JobSummary[];
  workers: WorkerRow[];
  /** The database bus's open commands for those workers, when asked for. */
  openCommands: OpenCommandRow[] | null;
}

interface PollRow extends StatsRow {
  recent_jobs: JobPageRow[] | null;
  workers: WorkerDbRow[] | null;
  open_commands: OpenCommandRow[] | null;
}

/**
 * The dashboard's poll in one statement (one round trip, where four separate ones cost a
 * connection's latency each): the job stats, the newest jobs and the workers, as JSON columns
 * built from the same statements as their own routes. With the database bus it also reads the
 * open commands of those workers and their hosts.
 */
export async function pollSnapshot(
  db: StatementDatabase,
  options: { recentJobs: number; workers: WorkerFilter; openCommands: boolean },
): Promise<PollSnapshot> {
  const openCommands = options.openCommands
    ? sql`(select json_agg(o order by o.seq) from (${openCommandsSql(
        sql`select 'worker', worker_id from w union select 'host', host_id from w`,
      )}) o)`
    : sql`null::json`;
  const [row] = await query<PollRow>(
    db,
    sql`with w as materialized (${workersSql(options.workers)})
        select s.*,
          (select json_agg(j order by j.cursor_at desc, j.id desc)
           from (${jobPageSql({ sort: 'newest', limit: options.recentJobs })}) j) as recent_jobs,
          (select json_agg(w order by w.host_id, w.supervisor, w.queue, w.worker_id) from w) as workers,
          ${openCommands} as open_commands
        from (${JOB_STATS_SQL}) s`,
  );
  if (!row) throw new Error('poll: the statement returned no row');
  return {
    stats: toJobStats(row),
    recentJobs: toJobPage(row.recent_jobs ?? [], options.recentJobs).jobs,
    workers: toWorkerPage(row.workers ?? [], options.workers.limit).workers,
    openCommands: options.openCommands ? (row.open_commands ?? []) : null,
  };
}
