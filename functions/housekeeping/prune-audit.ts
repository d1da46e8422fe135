import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * Deletes audit rows older than WATCHTOWER_RETENTION_AUDIT_DAYS (default 365), oldest first along
 * the `at` index, a batch at a time like every other prune.
 */
export const pruneAudit: HousekeepingStep = {
  name: 'audit log',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_AUDIT_DAYS', HOUSEKEEPING_DEFAULTS.auditDays);
    if (days === 0) return 'kept forever';
    const seconds = daysToSeconds(days);
    const bounds = pruneBounds(env);
    const deleted = await inBatches(bounds, async () => {
      const [row] = rowsOf<{ n: number }>(
        await db.execute(sql`
          with gone as (
            delete from watchtower_audit_log where id in (
              select id from watchtower_audit_log
              where at < now() - make_interval(secs => ${seconds}::double precision)
              order by at
              limit ${bounds.batchSize})
            returning 1)
          select count(*)::int as n from gone`),
      );
      return Number(row?.n ?? 0);
    });
    return `${deleted} rows older than ${days} d`;
  },
};
