import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * The connections' per-minute health rows older than WATCHTOWER_RETENTION_HEALTH_DAYS (30 by
 * default, like the metrics' minutes), oldest first along the primary key, in bounded batches.
 */
export const pruneConnectionHealth: HousekeepingStep = {
  name: 'connection health',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_HEALTH_DAYS', HOUSEKEEPING_DEFAULTS.healthDays);
    if (days === 0) return 'kept (retention 0)';
    const bounds = pruneBounds(env);
    const rows = await inBatches(bounds, async () => {
      const result = rowsOf<{ n: number }>(
        await db.execute(sql`
          with doomed as (
            select minute, host_id, connection from watchtower_connection_health
            where minute < now() - make_interval(secs => ${daysToSeconds(days)}::double precision)
            order by minute
            limit ${bounds.batchSize}
            for update skip locked
          ), deleted as (
            delete from watchtower_connection_health r using doomed d
            where r.minute = d.minute and r.host_id = d.host_id and r.connection = d.connection
            returning 1
          )
          select count(*)::int as n from deleted`),
      );
      return Number(result[0]?.n ?? 0);
    });
    return `${rows} rows older than ${days} d`;
  },
};
