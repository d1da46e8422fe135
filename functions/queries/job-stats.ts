import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { num, query } from './sql';

/**
 * The dashboard's headline numbers (the seed's keys), without counting a million rows.
 *
 * Counting jobs by status is a walk over every matching index entry: ~1M entries for `completed`
 * on a busy install, far over the 25 ms budget. So each count is exact up to COUNT_CAP (a walk of
 * at most that many entries of watchtower_jobs_status_recent) and, above it, an estimate from the
 * planner's statistics (pg_class.reltuples × the status's frequency in pg_stats), refreshed by
 * autovacuum's ANALYZE: good to a few percent, and listed in `estimated`. Where the planner knows
 * no more than was counted (a fresh install before its first ANALYZE: reltuples is 0 or -1), the
 * value is the cap and listed in `lower_bound`: "1,000 or more", never a made-up figure like the
 * 1,001 the capped walk stops at. The last-hour figures
 * come from the per-minute rollups (watchtower_metrics), worker counts from watchtower_workers.
 */
export const COUNT_CAP = 1000;

const PENDING = ['queued', 'delayed', 'retrying'] as const;

const CountKeySchema = z.enum(['total_jobs', 'pending', 'processing', 'completed', 'failed']);
type CountKey = z.infer<typeof CountKeySchema>;

export const JobStatsSchema = z
  .object({
    total_jobs: z.number().int(),
    pending: z.number().int().openapi({ description: 'Jobs queued, delayed or waiting to be retried' }),
    processing: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    completed_last_hour: z.number().int(),
    failed_last_hour: z.number().int(),
    active_workers: z.number().int(),
    paused_workers: z.number().int(),
    estimated: z
      .array(CountKeySchema)
      .openapi({ description: `Keys over ${COUNT_CAP} whose value is the planner's estimate, not a count` }),
    lower_bound: z.array(CountKeySchema).openapi({
      description:
        `Keys whose value is a lower bound: the count stopped at ${COUNT_CAP} and the planner's ` +
        'statistics know no more (show "1,000+")',
    }),
  })
  .openapi('JobStats');
export type JobStats = z.infer<typeof JobStatsSchema>;

export interface StatsRow {
  total: number | string;
  queued: number | string;
  delayed: number | string;
  retrying: number | string;
  processing: number | string;
  completed: number | string;
  failed: number | string;
  reltuples: number | string | null;
  vals: string[] | null;
  freqs: number[] | null;
  completed_last_hour: number | string;
  failed_last_hour: number | string;
  active_workers: number | string;
  paused_workers: number | string;
}

/**
 * At most COUNT_CAP + 1 entries of one status, walked in the index's order: the ORDER BY keeps the
 * planner on an index-only walk that stops at the cap even when its statistics are missing (a
 * bitmap scan would read every entry of the status first).
 */
function capped(status: string | null) {
  const where =
    status === null
      ? ''
      : `where status = '${status}' order by queued_at desc nulls last, id desc nulls last`;
  return sql.raw(`(select count(*) from (select 1 from watchtower_jobs ${where} limit ${COUNT_CAP + 1}) x)`);
}

/**
 * The statement behind jobStats, one row: seven bounded counts, the planner's statistics, the last
 * hour's rollups, the workers. Other statements (poll, metrics) embed it to save round trips.
 */
export const JOB_STATS_SQL: SQL = sql`
  select ${capped(null)} as total, ${capped('queued')} as queued, ${capped('delayed')} as delayed,
         ${capped('retrying')} as retrying, ${capped('processing')} as processing,
         ${capped('completed')} as completed, ${capped('failed')} as failed,
         p.reltuples, p.vals, p.freqs, m.completed_last_hour, m.failed_last_hour, w.active_workers, w.paused_workers
  from (select c.reltuples::float8 as reltuples, s.most_common_vals::text::text[] as vals,
               s.most_common_freqs::float8[] as freqs
        from pg_class c
        left join pg_stats s
          on s.schemaname = current_schema() and s.tablename = 'watchtower_jobs' and s.attname = 'status'
        where c.oid = 'watchtower_jobs'::regclass) p,
       (select coalesce(sum(completed), 0) as completed_last_hour, coalesce(sum(failed), 0) as failed_last_hour
        from watchtower_metrics where minute >= date_trunc('minute', now()) - interval '59 minutes') m,
       (select count(*) filter (where status = 'running') as active_workers,
               count(*) filter (where status = 'paused') as paused_workers
        from watchtower_workers where status <> 'dead' and status <> 'stopped') w`;

export async function jobStats(db: StatementDatabase): Promise<JobStats> {
  const [row] = await query<StatsRow>(db, JOB_STATS_SQL);
  if (!row) throw new Error('job stats: the statement returned no row');
  return toJobStats(row);
}

export function toJobStats(row: StatsRow): JobStats {
  const rows = Math.max(num(row.reltuples), 0);
  const frequency = (statuses: readonly string[]): number => {
    let sum = 0;
    row.vals?.forEach((value, index) => {
      if (statuses.includes(value)) sum += row.freqs?.[index] ?? 0;
    });
    return sum;
  };
  const estimated: CountKey[] = [];
  const lowerBound: CountKey[] = [];
  /**
   * Exact when no status reached the cap. Past it, the planner's estimate when that is more than
   * was counted (statistics may be stale), else a lower bound: each status's count taken at most
   * at the cap, since the walk stops one entry past it.
   */
  const count = (key: CountKey, counted: number[], statuses: readonly string[] | null): number => {
    const sum = counted.reduce((total, value) => total + value, 0);
    if (!counted.some((value) => value > COUNT_CAP)) return sum;
    const estimate = Math.round(statuses === null ? rows : rows * frequency(statuses));
    if (estimate > sum) {
      estimated.push(key);
      return estimate;
    }
    lowerBound.push(key);
    return counted.reduce((total, value) => total + Math.min(value, COUNT_CAP), 0);
  };
  const counts = {
    pending: count(
      'pending',
      PENDING.map((status) => num(row[status])),
      PENDING,
    ),
    processing: count('processing', [num(row.processing)], ['processing']),
    completed: count('completed', [num(row.completed)], ['completed']),
    failed: count('failed', [num(row.failed)], ['failed']),
  };
  const parts = counts.pending + counts.processing + counts.completed + counts.failed;
  let total = count('total_jobs', [num(row.total)], null);
  if (parts > total) {
    // The parts know more than the total's own count or estimate: the total is at least their sum,
    // and exact only when every part is.
    total = parts;
    const partsExact = estimated.length === 0 && lowerBound.length === 0;
    const list = estimated.includes('total_jobs') ? estimated : lowerBound;
    if (!partsExact && !list.includes('total_jobs')) list.push('total_jobs');
  }
  return {
    total_jobs: total,
    ...counts,
    completed_last_hour: num(row.completed_last_hour),
    failed_last_hour: num(row.failed_last_hour),
    active_workers: num(row.active_workers),
    paused_workers: num(row.paused_workers),
    estimated: estimated.sort(),
    lower_bound: lowerBound.sort(),
  };
}
