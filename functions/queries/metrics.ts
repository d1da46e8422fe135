import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { TimestampSchema } from '../schemas/common';
import { JOB_STATS_SQL, type JobStats, type StatsRow, toJobStats } from './job-stats';
import { num, numOrNull, query } from './sql';

/**
 * The seed's metrics collector, from the rollups only: jobs are never scanned.
 *
 * The 24 hourly points and the per-queue figures come from one pass (GROUPING SETS) over a source
 * that takes each of the 24 hours from one place:
 * - an hour before the current one that the cron has rolled up (functions/housekeeping/
 *   rollup-metrics.ts) *after it ended* (rolled_at >= its end + ROLLUP_GRACE) is read from
 *   watchtower_metrics_hourly: ~1 row per queue instead of ~60;
 * - any other hour (the current one always, an hour the cron has not rolled yet, one rolled while
 *   it was still filling) is read from the per-minute rows, as before the hourly table existed.
 * So the answer is the same as from the minutes alone whether or not the cron has run, except for
 * minute rows that arrive after their hour was rolled: the cron recomputes the last
 * ROLLUP_LOOKBACK_HOURS completed hours every run, so such a late row shows from the next run on
 * (older replays stay out of the hourly figures). Sums of the double-precision duration columns
 * are added per hour first, so they may differ from the minute-only sum in the last bits.
 * The 10-minute series and the depths read a few per-minute rows; worker stats read the workers
 * table.
 */
const HourSchema = z.object({
  hour: TimestampSchema,
  queued: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});

const MinuteSchema = z.object({
  minute: TimestampSchema,
  queued: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});

const QueueFiguresSchema = z.object({
  connection: z.string(),
  queue: z.string(),
  completed: z.number().int(),
  failed: z.number().int(),
  avgRunMs: z.number().nullable(),
  maxRunMs: z.number().nullable(),
  avgWaitMs: z.number().nullable(),
  maxWaitMs: z.number().nullable(),
  failureRate: z.number().nullable().openapi({ description: 'failed / (completed + failed), 0 to 1' }),
});

const DepthSchema = z.object({
  connection: z.string(),
  queue: z.string(),
  depth: z.number().int(),
  at: TimestampSchema,
});

export const MetricsSeriesSchema = z.object({
  hourlyThroughput: z
    .array(HourSchema)
    .openapi({ description: 'The last 24 hours, oldest first; hours without jobs are 0' }),
  minuteThroughput: z.array(MinuteSchema).openapi({ description: 'The last 10 minutes, oldest first' }),
  queueDepths: z.array(DepthSchema).openapi({ description: 'Latest sample per queue within 15 minutes' }),
  queues: z
    .array(QueueFiguresSchema)
    .openapi({ description: 'Per queue over 24 hours: durations, wait, failure rate' }),
  waitTime: z
    .object({ avgMs: z.number().nullable(), maxMs: z.number().nullable() })
    .openapi({ description: 'Over 24 hours' }),
  failureRate: z.number().nullable().openapi({ description: 'Over 24 hours: failed / (completed + failed)' }),
  workers: z.object({
    total: z.number().int(),
    byStatus: z.record(z.string(), z.number().int()),
    jobsProcessed: z.number().int(),
    jobsFailed: z.number().int(),
    memoryBytes: z.number().int(),
    hosts: z.number().int(),
  }),
});
export type MetricsSeries = z.infer<typeof MetricsSeriesSchema>;

export interface MetricsRow {
  hours: Array<{ hour: string; queued: number; completed: number; failed: number }> | null;
  minutes: Array<{ minute: string; queued: number; completed: number; failed: number }> | null;
  depths: Array<{ connection: string; queue: string; depth: number; at: string }> | null;
  queues: Array<{
    connection: string;
    queue: string;
    completed: number;
    failed: number;
    run_sum: number;
    run_max: number;
    wait_sum: number;
    wait_max: number;
  }> | null;
  workers: Record<string, number> | null;
  jobs_processed: number | string | null;
  jobs_failed: number | string | null;
  memory_bytes: number | string | null;
  hosts: number | string | null;
}

const UTC_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * How long after an hour ends its per-minute rows may still change (the recorder flushes every
 * 250 ms and retries a failed flush): an hour rolled up before its end plus this is not trusted.
 */
export const ROLLUP_GRACE_MINUTES = 5;
const GRACE_SQL = `interval '${ROLLUP_GRACE_MINUTES} minutes'`;

/**
 * The `slots` and `source` CTEs (without `with`) behind every hourly figure: one row per queue and
 * minute-or-hour of the last `hours` hours (this one included), each hour taken from
 * watchtower_metrics_hourly when the cron rolled it up after it ended, from the per-minute rows
 * otherwise (see the comment at the top). `source.hour` is the hour a row counts in. Rows stamped
 * after this hour (a host's clock ahead) are in `source` too; a caller that wants only the window
 * filters on `hour`.
 */
export function hourlySourceSql(hours: number): SQL {
  const back = sql.raw(`interval '${Math.trunc(hours) - 1} hours'`);
  return sql`slots as (
          select g.hour, exists (select 1 from watchtower_metrics_hourly r
                                 where r.hour = g.hour
                                   and r.rolled_at >= g.hour + interval '1 hour' + ${sql.raw(GRACE_SQL)}) as rolled
          from generate_series(date_trunc('hour', now()) - ${back}, date_trunc('hour', now()),
                               interval '1 hour') as g(hour)
        ), source as (
          select r.hour, r.connection, r.queue, r.queued, r.completed, r.failed,
                 r.run_ms_sum, r.run_ms_max, r.wait_ms_sum, r.wait_ms_max
          from watchtower_metrics_hourly r
          where r.hour >= date_trunc('hour', now()) - ${back} and r.hour < date_trunc('hour', now())
            and r.hour in (select hour from slots where rolled)
          union all
          -- The hours not rolled up, from the minutes, in two ranges whose bounds the planner can
          -- see: this hour and the last (usually the only ones, the last within its grace), then
          -- older ones (only when the cron is behind; empty at run time otherwise). Rows stamped
          -- after this hour (a host's clock ahead) count in the per-queue figures, as they always did.
          select date_trunc('hour', m.minute), m.connection, m.queue, m.queued, m.completed, m.failed,
                 m.run_ms_sum, m.run_ms_max, m.wait_ms_sum, m.wait_ms_max
          from watchtower_metrics m
          where m.minute >= date_trunc('hour', now()) - interval '1 hour'
            and (date_trunc('hour', m.minute) in (select hour from slots where not rolled)
                 or m.minute >= date_trunc('hour', now()) + interval '1 hour')
          union all
          select date_trunc('hour', m.minute), m.connection, m.queue, m.queued, m.completed, m.failed,
                 m.run_ms_sum, m.run_ms_max, m.wait_ms_sum, m.wait_ms_max
          from watchtower_metrics m
          where m.minute >= date_trunc('hour', now()) - ${back}
            and m.minute < date_trunc('hour', now()) - interval '1 hour'
            and m.minute >= (select min(hour) from slots where not rolled)
            and date_trunc('hour', m.minute) in (select hour from slots where not rolled)
        )`;
}

/** The statement behind metricsSeries, one row; GET /api/metrics puts the job stats beside it. */
export const METRICS_SQL: SQL = sql`with ${hourlySourceSql(24)}, day as (
          select grouping(connection, queue) as by_hour, hour, connection, queue,
                 sum(queued) as queued, sum(completed) as completed, sum(failed) as failed,
                 sum(run_ms_sum) as run_sum, max(run_ms_max) as run_max,
                 sum(wait_ms_sum) as wait_sum, max(wait_ms_max) as wait_max
          from source
          group by grouping sets ((hour), (connection, queue))
        ), hours as (
          select g.hour, coalesce(d.queued, 0) as queued, coalesce(d.completed, 0) as completed,
                 coalesce(d.failed, 0) as failed
          from generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()),
                               interval '1 hour') as g(hour)
          left join day d on d.by_hour = 3 and d.hour = g.hour
        ), minutes as (
          select g.minute, coalesce(m.queued, 0) as queued, coalesce(m.completed, 0) as completed,
                 coalesce(m.failed, 0) as failed
          from generate_series(date_trunc('minute', now()) - interval '9 minutes', date_trunc('minute', now()),
                               interval '1 minute') as g(minute)
          left join (select minute, sum(queued) as queued, sum(completed) as completed, sum(failed) as failed
                     from watchtower_metrics where minute >= date_trunc('minute', now()) - interval '9 minutes'
                     group by minute) m on m.minute = g.minute
        ), depths as (
          select distinct on (connection, queue) connection, queue, depth, minute
          from watchtower_metrics
          where minute >= date_trunc('minute', now()) - interval '15 minutes' and depth is not null
          order by connection, queue, minute desc
        ), workers as (
          select status, count(*)::int as n, sum(jobs_processed) as processed, sum(jobs_failed) as failed,
                 sum(coalesce(memory_bytes, 0)) as memory
          from watchtower_workers where status <> 'dead' group by status
        )
        select
          (select json_agg(json_build_object('hour', to_char(hour at time zone 'UTC', ${sql.raw(UTC_MS)}),
             'queued', queued, 'completed', completed, 'failed', failed) order by hour) from hours) as hours,
          (select json_agg(json_build_object('minute', to_char(minute at time zone 'UTC', ${sql.raw(UTC_MS)}),
             'queued', queued, 'completed', completed, 'failed', failed) order by minute) from minutes) as minutes,
          (select json_agg(json_build_object('connection', connection, 'queue', queue, 'depth', depth,
             'at', to_char(minute at time zone 'UTC', ${sql.raw(UTC_MS)})) order by queue, connection) from depths) as depths,
          (select json_agg(json_build_object('connection', connection, 'queue', queue, 'completed', completed,
             'failed', failed, 'run_sum', run_sum, 'run_max', run_max, 'wait_sum', wait_sum, 'wait_max', wait_max)
             order by queue, connection) from day where by_hour = 0) as queues,
          (select json_object_agg(status, n) from workers) as workers,
          (select sum(processed) from workers) as jobs_processed,
          (select sum(failed) from workers) as jobs_failed,
          (select sum(memory) from workers) as memory_bytes,
          (select count(*) from watchtower_hosts where status <> 'dead' and status <> 'stopped') as hosts`;

export async function metricsSeries(db: StatementDatabase): Promise<MetricsSeries> {
  const [row] = await query<MetricsRow>(db, METRICS_SQL);
  if (!row) throw new Error('metrics: the statement returned no row');
  return toMetricsSeries(row);
}

/** Metrics and job stats in one statement (one round trip). */
export async function metricsWithStats(db: StatementDatabase): Promise<MetricsSeries & { stats: JobStats }> {
  const [row] = await query<MetricsRow & StatsRow>(
    db,
    sql`select s.*, m.* from (${JOB_STATS_SQL}) s, (${METRICS_SQL}) m`,
  );
  if (!row) throw new Error('metrics: the statement returned no row');
  return { stats: toJobStats(row), ...toMetricsSeries(row) };
}

export function toMetricsSeries(row: MetricsRow): MetricsSeries {
  let completed = 0;
  let failed = 0;
  let waitSum = 0;
  let waitMax: number | null = null;
  const queues = (row.queues ?? []).map((q) => {
    const finished = num(q.completed) + num(q.failed);
    completed += num(q.completed);
    failed += num(q.failed);
    waitSum += num(q.wait_sum);
    if (finished > 0) waitMax = Math.max(waitMax ?? 0, num(q.wait_max));
    return {
      connection: q.connection,
      queue: q.queue,
      completed: num(q.completed),
      failed: num(q.failed),
      avgRunMs: finished > 0 ? Math.round(num(q.run_sum) / finished) : null,
      maxRunMs: finished > 0 ? num(q.run_max) : null,
      avgWaitMs: finished > 0 ? Math.round(num(q.wait_sum) / finished) : null,
      maxWaitMs: finished > 0 ? num(q.wait_max) : null,
      failureRate: finished > 0 ? num(q.failed) / finished : null,
    };
  });
  const finished = completed + failed;
  const byStatus = row.workers ?? {};
  return {
    hourlyThroughput: (row.hours ?? []).map((h) => ({
      ...h,
      queued: num(h.queued),
      completed: num(h.completed),
      failed: num(h.failed),
    })),
    minuteThroughput: (row.minutes ?? []).map((m) => ({
      ...m,
      queued: num(m.queued),
      completed: num(m.completed),
      failed: num(m.failed),
    })),
    queueDepths: (row.depths ?? []).map((d) => ({ ...d, depth: num(d.depth) })),
    queues,
    waitTime: { avgMs: finished > 0 ? Math.round(waitSum / finished) : null, maxMs: waitMax },
    failureRate: finished > 0 ? failed / finished : null,
    workers: {
      total: Object.values(byStatus).reduce((sum, n) => sum + num(n), 0),
      byStatus,
      jobsProcessed: num(row.jobs_processed),
      jobsFailed: num(row.jobs_failed),
      memoryBytes: num(row.memory_bytes),
      hosts: num(numOrNull(row.hosts)),
    },
  };
}
