import { sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { hourlyRetentionDays } from './prune-metrics';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * One batch of a health table's rows older than `days`, oldest first along its primary key
 * (time column, host, connection). Both tables come from this file's constants, never from input.
 */
async function deleteHealthBatch(
  db: StatementDatabase,
  table: 'watchtower_connection_health' | 'watchtower_connection_health_hourly',
  timeColumn: 'minute' | 'hour',
  days: number,
  batchSize: number,
): Promise<number> {
  const t = sql.identifier(table);
  const at = sql.identifier(timeColumn);
  const result = rowsOf<{ n: number }>(
    await db.execute(sql`
      with doomed as (
        select ${at}, host_id, connection from ${t}
        where ${at} < now() - make_interval(secs => ${daysToSeconds(days)}::double precision)
        order by ${at}
        limit ${batchSize}
        for update skip locked
      ), deleted as (
        delete from ${t} r using doomed d
        where r.${at} = d.${at} and r.host_id = d.host_id and r.connection = d.connection
        returning 1
      )
      select count(*)::int as n from deleted`),
  );
  return Number(result[0]?.n ?? 0);
}

/**
 * The connections' per-minute health rows older than WATCHTOWER_RETENTION_HEALTH_DAYS (30 by
 * default, like the metrics' minutes), and their hourly rollups older than the longer of that and
 * 90 days (hourlyRetentionDays, as for the metrics), in bounded batches.
 */
export const pruneConnectionHealth: HousekeepingStep = {
  name: 'connection health',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_HEALTH_DAYS', HOUSEKEEPING_DEFAULTS.healthDays);
    if (days === 0) return 'kept (retention 0)';
    const bounds = pruneBounds(env);
    const minuteRows = await inBatches(bounds, () =>
      deleteHealthBatch(db, 'watchtower_connection_health', 'minute', days, bounds.batchSize),
    );
    const hourlyDays = hourlyRetentionDays(days);
    const hourlyRows = await inBatches(bounds, () =>
      deleteHealthBatch(db, 'watchtower_connection_health_hourly', 'hour', hourlyDays, bounds.batchSize),
    );
    return `${minuteRows} rows older than ${days} d, ${hourlyRows} hourly rows older than ${hourlyDays} d`;
  },
};
