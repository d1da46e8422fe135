import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * The hourly rollups are kept at least this many days, and never less than the per-minute rows;
 * at ~24 rows per queue a day they cost little, and they are what longer charts can read.
 */
export const HOURLY_METRICS_MIN_DAYS = 90;

/** Days to keep watchtower_metrics_hourly for a per-minute retention of `minuteDays` (0: forever). */
export function hourlyRetentionDays(minuteDays: number): number {
  return minuteDays === 0 ? 0 : Math.max(minuteDays, HOURLY_METRICS_MIN_DAYS);
}

/**
 * Per-minute rollups older than WATCHTOWER_RETENTION_METRICS_DAYS, and hourly rollups older than
 * hourlyRetentionDays() of it, each oldest first along its primary key, in bounded batches.
 */
export const pruneMetrics: HousekeepingStep = {
  name: 'metrics',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_METRICS_DAYS', HOUSEKEEPING_DEFAULTS.metricsDays);
    if (days === 0) return 'kept (retention 0)';
    const bounds = pruneBounds(env);
    const minuteRows = await inBatches(bounds, async () => {
      const result = rowsOf<{ n: number }>(
        await db.execute(sql`
          with doomed as (
            select minute, connection, queue from watchtower_metrics
            where minute < now() - make_interval(secs => ${daysToSeconds(days)}::double precision)
            order by minute
            limit ${bounds.batchSize}
            for update skip locked
          ), deleted as (
            delete from watchtower_metrics m using doomed d
            where m.minute = d.minute and m.connection = d.connection and m.queue = d.queue
            returning 1
          )
          select count(*)::int as n from deleted`),
      );
      return Number(result[0]?.n ?? 0);
    });
    const hourlyDays = hourlyRetentionDays(days);
    const hourlyRows = await inBatches(bounds, async () => {
      const result = rowsOf<{ n: number }>(
        await db.execute(sql`
          with doomed as (
            select hour, connection, queue from watchtower_metrics_hourly
            where hour < now() - make_interval(secs => ${daysToSeconds(hourlyDays)}::double precision)
            order by hour
            limit ${bounds.batchSize}
            for update skip locked
          ), deleted as (
            delete from watchtower_metrics_hourly h using doomed d
            where h.hour = d.hour and h.connection = d.connection and h.queue = d.queue
            returning 1
          )
          select count(*)::int as n from deleted`),
      );
      return Number(result[0]?.n ?? 0);
    });
    return `${minuteRows} rows older than ${days} d, ${hourlyRows} hourly rows older than ${hourlyDays} d`;
  },
};
