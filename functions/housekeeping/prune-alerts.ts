import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * Alert history older than WATCHTOWER_RETENTION_ALERTS_DAYS (90 by default): events, finished
 * deliveries (sent or given up; pending ones are still work) and silences that ended. Oldest
 * first by id (ids grow with time), in bounded batches.
 */
export const pruneAlerts: HousekeepingStep = {
  name: 'alert history',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_ALERTS_DAYS', HOUSEKEEPING_DEFAULTS.alertsDays);
    if (days === 0) return 'kept (retention 0)';
    const bounds = pruneBounds(env);
    const cutoff = sql`now() - make_interval(secs => ${daysToSeconds(days)}::double precision)`;
    const count = async (statement: ReturnType<typeof sql>) =>
      Number(rowsOf<{ n: number }>(await db.execute(statement))[0]?.n ?? 0);
    const events = await inBatches(bounds, () =>
      count(sql`with deleted as (
          delete from watchtower_alert_events where id in (
            select id from watchtower_alert_events where at < ${cutoff} order by id limit ${bounds.batchSize})
          returning 1)
        select count(*)::int as n from deleted`),
    );
    const deliveries = await inBatches(bounds, () =>
      count(sql`with deleted as (
          delete from watchtower_alert_deliveries where id in (
            select id from watchtower_alert_deliveries
            where created_at < ${cutoff} and (status = 'sent' or status = 'failed')
            order by id limit ${bounds.batchSize})
          returning 1)
        select count(*)::int as n from deleted`),
    );
    const silences = await count(sql`with deleted as (
        delete from watchtower_alert_silences where id in (
          select id from watchtower_alert_silences where ends_at < ${cutoff} limit ${bounds.batchSize})
        returning 1)
      select count(*)::int as n from deleted`);
    return `${events} events, ${deliveries} deliveries, ${silences} silences older than ${days} d`;
  },
};
