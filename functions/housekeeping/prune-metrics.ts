import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/** Per-minute rollups older than WATCHTOWER_RETENTION_METRICS_DAYS, oldest first along the primary key. */
export const pruneMetrics: HousekeepingStep = {
  name: 'metrics',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_METRICS_DAYS', HOUSEKEEPING_DEFAULTS.metricsDays);
    if (days === 0) return 'kept (retention 0)';
    const bounds = pruneBounds(env);
    const rows = await inBatches(bounds, async () => {
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
    return `${rows} rows older than ${days} d`;
  },
};
