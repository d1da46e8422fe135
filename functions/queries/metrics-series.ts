import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { TimestampSchema } from '../schemas/common';
import { hourlySourceSql } from './metrics';
import { isoText, num, query } from './sql';

/**
 * Time series for the Metrics page, from the rollups only (jobs are never scanned):
 * - `1h`: 60 points, one per minute, from the per-minute rows (watchtower_metrics);
 * - `24h`: 24 points, one per hour, and `7d`: 168 points, one per hour, each hour from
 *   watchtower_metrics_hourly once the cron rolled it up after it ended, from the minutes otherwise
 *   (the same rule as GET /api/metrics, `hourlySourceSql`).
 * 24 hours are per hour rather than per 10 minutes: an hour is what the hourly table holds, so a
 * queue costs ~24 rows instead of ~1,440 minute rows, and the Overview's 24-hour chart, which
 * reads the same hours, agrees with this one point for point.
 * What a statement reads is bounded by the window and the number of queues: at most 60 minute rows
 * per queue for 1h; at most 24 or 168 hour rows per queue, plus the minutes of hours the cron has
 * not rolled up yet (this hour and the last, unless the cron is behind), for 24h and 7d.
 *
 * The rollups keep sums and maxima of run and wait times, not their distribution: the series give
 * the average and the maximum; a percentile (p95) would need a histogram in the rollups.
 */
export const METRIC_RANGES = {
  '1h': { step: 'minute', points: 60, stepSeconds: 60 },
  '24h': { step: 'hour', points: 24, stepSeconds: 3600 },
  '7d': { step: 'hour', points: 168, stepSeconds: 3600 },
} as const;
export type MetricRange = keyof typeof METRIC_RANGES;

const FiguresSchema = z.object({
  completed: z.number().int(),
  failed: z.number().int(),
  perMinute: z.number().openapi({
    description: 'Jobs finished (completed + failed) per minute, averaged over the step or range',
  }),
  avgRunMs: z.number().nullable(),
  maxRunMs: z.number().nullable(),
  avgWaitMs: z.number().nullable(),
  maxWaitMs: z.number().nullable(),
  failureRate: z.number().nullable().openapi({ description: 'failed / (completed + failed), 0 to 1' }),
});
type Figures = z.infer<typeof FiguresSchema>;

const PointSchema = FiguresSchema.extend({
  at: TimestampSchema.openapi({ description: 'Start of the minute or hour' }),
});

const QueueFiguresSchema = FiguresSchema.extend({ connection: z.string(), queue: z.string() });

export const MetricsSeriesAnswerSchema = z
  .object({
    range: z.enum(['1h', '24h', '7d']),
    step: z.enum(['minute', 'hour']),
    stepSeconds: z.number().int(),
    connection: z.string().nullable().openapi({ description: 'The connection asked for, or null for all' }),
    queue: z.string().nullable().openapi({ description: 'The queue asked for, or null for all' }),
    points: z.array(PointSchema).openapi({
      description:
        'Oldest first, one per step, the current (unfinished) minute or hour last; steps without jobs are 0',
    }),
    totals: FiguresSchema.openapi({
      description: 'Over the whole range, for the queue(s) asked for: the points added up',
    }),
    queues: z.array(QueueFiguresSchema).openapi({
      description:
        'Every queue with rollup rows in the range (whatever the filter), with its figures over the range',
    }),
  })
  .openapi('MetricsSeries');
export type MetricsSeriesAnswer = z.infer<typeof MetricsSeriesAnswerSchema>;

interface Sums {
  completed: number | string;
  failed: number | string;
  run_sum: number | string;
  run_max: number | string | null;
  wait_sum: number | string;
  wait_max: number | string | null;
}

interface SeriesRow {
  points: Array<Sums & { at: string }> | null;
  queues: Array<Sums & { connection: string; queue: string }> | null;
}

/** Sums of rollup rows as the API's figures; `minutes` is how long the sums cover, for the rate. */
function figures(sums: Sums, minutes: number): Figures {
  const completed = num(sums.completed);
  const failed = num(sums.failed);
  const finished = completed + failed;
  return {
    completed,
    failed,
    perMinute: finished / minutes,
    avgRunMs: finished > 0 ? Math.round(num(sums.run_sum) / finished) : null,
    maxRunMs: finished > 0 ? num(sums.run_max) : null,
    avgWaitMs: finished > 0 ? Math.round(num(sums.wait_sum) / finished) : null,
    maxWaitMs: finished > 0 ? num(sums.wait_max) : null,
    failureRate: finished > 0 ? failed / finished : null,
  };
}

/** The rows of the window as (bucket, connection, queue, measures), from the right rollup table. */
function windowSql(range: MetricRange): SQL {
  if (METRIC_RANGES[range].step === 'minute') {
    const back = sql.raw(`interval '${METRIC_RANGES[range].points - 1} minutes'`);
    return sql`buckets as (
          select g.at from generate_series(date_trunc('minute', now()) - ${back}, date_trunc('minute', now()),
                                           interval '1 minute') as g(at)
        ), windowed as (
          select minute as bucket, connection, queue, completed, failed,
                 run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max
          from watchtower_metrics
          where minute >= date_trunc('minute', now()) - ${back} and minute <= date_trunc('minute', now())
        )`;
  }
  const hours = METRIC_RANGES[range].points;
  const back = sql.raw(`interval '${hours - 1} hours'`);
  return sql`${hourlySourceSql(hours)}, buckets as (
          select g.at from generate_series(date_trunc('hour', now()) - ${back}, date_trunc('hour', now()),
                                           interval '1 hour') as g(at)
        ), windowed as (
          -- Only the window: rows stamped after this hour (a host's clock ahead) have no point, and
          -- the totals are the points added up.
          select hour as bucket, connection, queue, completed, failed,
                 run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max
          from source
          where hour >= date_trunc('hour', now()) - ${back} and hour <= date_trunc('hour', now())
        )`;
}

const SUMS = sql`sum(completed) as completed, sum(failed) as failed, sum(run_ms_sum) as run_sum,
                 max(run_ms_max) as run_max, sum(wait_ms_sum) as wait_sum, max(wait_ms_max) as wait_max`;

export interface SeriesFilter {
  connection?: string | undefined;
  queue?: string | undefined;
}

export async function metricsSeriesFor(
  db: StatementDatabase,
  range: MetricRange,
  filter: SeriesFilter,
): Promise<MetricsSeriesAnswer> {
  const { step, stepSeconds } = METRIC_RANGES[range];
  const connection = filter.connection ?? null;
  const queue = filter.queue ?? null;
  const [row] = await query<SeriesRow>(
    db,
    sql`with ${windowSql(range)}, picked as (
          select bucket, ${SUMS}
          from windowed
          where (${connection}::text is null or connection = ${connection}::text)
            and (${queue}::text is null or queue = ${queue}::text)
          group by bucket
        ), per_queue as (
          select connection, queue, ${SUMS} from windowed group by connection, queue
        )
        select
          (select json_agg(json_build_object('at', ${isoText(sql`b.at`)},
             'completed', coalesce(p.completed, 0), 'failed', coalesce(p.failed, 0),
             'run_sum', coalesce(p.run_sum, 0), 'run_max', p.run_max,
             'wait_sum', coalesce(p.wait_sum, 0), 'wait_max', p.wait_max) order by b.at)
           from buckets b left join picked p on p.bucket = b.at) as points,
          (select json_agg(json_build_object('connection', connection, 'queue', queue,
             'completed', completed, 'failed', failed, 'run_sum', run_sum, 'run_max', run_max,
             'wait_sum', wait_sum, 'wait_max', wait_max) order by queue, connection)
           from per_queue) as queues`,
  );
  if (!row) throw new Error('metrics series: the statement returned no row');
  const stepMinutes = stepSeconds / 60;
  const pointSums = row.points ?? [];
  const total: Sums = { completed: 0, failed: 0, run_sum: 0, run_max: null, wait_sum: 0, wait_max: null };
  for (const point of pointSums) {
    total.completed = num(total.completed) + num(point.completed);
    total.failed = num(total.failed) + num(point.failed);
    total.run_sum = num(total.run_sum) + num(point.run_sum);
    total.wait_sum = num(total.wait_sum) + num(point.wait_sum);
    if (point.run_max !== null) total.run_max = Math.max(num(total.run_max), num(point.run_max));
    if (point.wait_max !== null) total.wait_max = Math.max(num(total.wait_max), num(point.wait_max));
  }
  const rangeMinutes = pointSums.length * stepMinutes || 1;
  return {
    range,
    step,
    stepSeconds,
    connection,
    queue,
    points: pointSums.map((point) => ({ at: point.at, ...figures(point, stepMinutes) })),
    totals: figures(total, rangeMinutes),
    queues: (row.queues ?? []).map((q) => ({
      connection: q.connection,
      queue: q.queue,
      ...figures(q, rangeMinutes),
    })),
  };
}
