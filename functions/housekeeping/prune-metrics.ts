import { sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../../core/db/database';
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
 * One batch of a rollup table's rows older than `days`, oldest first along its primary key
 * (time column, connection, queue). Both tables come from this file's constants, never from input.
 */
async function deleteRollupBatch(
  db: StatementDatabase,
  table: 'watchtower_metrics' | 'watchtower_metrics_hourly',
  timeColumn: 'minute' | 'hour',
  days: number,
  batchSize: number,
): Promise<number> {
  const t = sql.identifier(table);
  const at = sql.identifier(timeColumn);
  const result = rowsOf<{ n: number }>(
    await db.execute(sql`
      with doomed as (
        select ${at}, connection, queue from ${t}
        where ${at} < now() - make_interval(secs => ${daysToSeconds(days)}::double precision)
        order by ${at}
        limit ${batchSize}
        for update skip locked
      ), deleted as (
        delete from ${t} r using doomed d
        where r.${at} = d.${at} and r.connection = d.connection and r.queue = d.queue
        returning 1
      )
      select count(*)::int as n from deleted`),
  );
  return Number(result[0]?.n ?? 0);
}

/**
 * Per-minute rollups older than WATCHTOWER_RETENTION_METRICS_DAYS, and hourly rollups older than
 * hourlyRetentionDays() of it, in bounded batches.
 */
export const pruneMetrics: HousekeepingStep = {
  name: 'metrics',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_METRICS_DAYS', HOUSEKEEPING_DEFAULTS.metricsDays);
    if (days === 0) return 'kept (retention 0)';
    const bounds = pruneBounds(env);
    const minuteRows = await inBatches(bounds, () =>
      deleteRollupBatch(db, 'watchtower_metrics', 'minute', days, bounds.batchSize),
    );
    const hourlyDays = hourlyRetentionDays(days);
    const hourlyRows = await inBatches(bounds, () =>
      deleteRollupBatch(db, 'watchtower_metrics_hourly', 'hour', hourlyDays, bounds.batchSize),
    );
    return `${minuteRows} rows older than ${days} d, ${hourlyRows} hourly rows older than ${hourlyDays} d`;
  },
};
