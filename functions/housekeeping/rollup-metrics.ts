import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, retentionDays } from '../config';
import { ROLLUP_GRACE_MINUTES } from '../queries/metrics';
import { hoursToRollUp } from './rollup-hours';
import { daysToSeconds, type HousekeepingStep } from './step';

/**
 * Recomputes watchtower_metrics_hourly from the per-minute rows (watchtower_metrics) for a bounded
 * set of hours: the current hour, the last ROLLUP_LOOKBACK_HOURS completed ones, and up to
 * ROLLUP_CATCH_UP_PER_RUN older hours of the last ROLLUP_CATCH_UP_WINDOW_HOURS that have minute rows
 * but were never rolled up after they ended. Each hour is rebuilt whole with an upsert (and its
 * rows that no longer have minutes removed), so a run is idempotent and the minute rows stay the
 * truth; a finished hour's row is rewritten only when its figures changed. Hours that reach back past the per-minute retention are never recomputed: their minutes
 * may be half pruned, and the hourly rows are what is left of them.
 */
export const rollupMetrics: HousekeepingStep = {
  name: 'metrics rollup',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_METRICS_DAYS', HOUSEKEEPING_DEFAULTS.metricsDays);
    const keptSeconds = daysToSeconds(days);
    const [result] = rowsOf<{ hours: number; rows: number; removed: number }>(
      await db.execute(sql`
        with targets as (
          ${hoursToRollUp('watchtower_metrics_hourly', 'watchtower_metrics', keptSeconds)}
        ), agg as (
          select t.hour, m.connection, m.queue,
                 sum(m.queued) as queued, sum(m.completed) as completed, sum(m.failed) as failed,
                 sum(m.retried) as retried, sum(m.run_ms_sum) as run_ms_sum, max(m.run_ms_max) as run_ms_max,
                 sum(m.wait_ms_sum) as wait_ms_sum, max(m.wait_ms_max) as wait_ms_max,
                 (array_agg(m.depth order by m.minute desc) filter (where m.depth is not null))[1] as depth
          from targets t
          cross join lateral (
            select * from watchtower_metrics
            where minute >= t.hour and minute < t.hour + interval '1 hour') m
          group by t.hour, m.connection, m.queue
        ), upserted as (
          insert into watchtower_metrics_hourly as h (hour, connection, queue, queued, completed, failed,
            retried, run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max, depth, rolled_at)
          select hour, connection, queue, queued, completed, failed, retried, run_ms_sum, run_ms_max,
                 wait_ms_sum, wait_ms_max, depth, now()
          from agg
          on conflict (hour, connection, queue) do update set
            queued = excluded.queued, completed = excluded.completed, failed = excluded.failed,
            retried = excluded.retried, run_ms_sum = excluded.run_ms_sum, run_ms_max = excluded.run_ms_max,
            wait_ms_sum = excluded.wait_ms_sum, wait_ms_max = excluded.wait_ms_max, depth = excluded.depth,
            rolled_at = excluded.rolled_at
          -- Two runs at once: the one that started last read the most, and an earlier one does not
          -- overwrite it. A finished hour whose figures did not change is left as it is (no dead row).
          where h.rolled_at <= excluded.rolled_at
            and (h.rolled_at < h.hour + interval '1 hour' + make_interval(mins => ${ROLLUP_GRACE_MINUTES})
                 or (h.queued, h.completed, h.failed, h.retried, h.run_ms_sum, h.run_ms_max, h.wait_ms_sum,
                     h.wait_ms_max, h.depth)
                    is distinct from (excluded.queued, excluded.completed, excluded.failed, excluded.retried,
                     excluded.run_ms_sum, excluded.run_ms_max, excluded.wait_ms_sum, excluded.wait_ms_max,
                     excluded.depth))
          returning 1
        ), removed as (
          delete from watchtower_metrics_hourly h using targets t
          where h.hour = t.hour
            and not exists (select 1 from agg a
                            where a.hour = h.hour and a.connection = h.connection and a.queue = h.queue)
          returning 1
        )
        select (select count(*) from targets)::int as hours, (select count(*) from upserted)::int as rows,
               (select count(*) from removed)::int as removed`),
    );
    const removed = Number(result?.removed ?? 0);
    return `${Number(result?.rows ?? 0)} rows written in ${Number(result?.hours ?? 0)} hours${
      removed > 0 ? `, ${removed} without minutes removed` : ''
    }`;
  },
};
