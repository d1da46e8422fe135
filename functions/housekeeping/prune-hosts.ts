import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * Deletes hosts and worker processes that are gone (dead or stopped) and were last heard from more
 * than WATCHTOWER_RETENTION_HOSTS_DAYS ago, so the lists do not fill up with every container that
 * ever ran (each deploy brings new host ids). A host that comes back writes its rows again with
 * its next heartbeat. Their jobs' history is kept: job rows name a worker id, not a row here.
 */
export const pruneHosts: HousekeepingStep = {
  name: 'gone hosts',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_HOSTS_DAYS', HOUSEKEEPING_DEFAULTS.hostsDays);
    if (days === 0) return 'kept forever';
    const seconds = daysToSeconds(days);
    const bounds = pruneBounds(env);
    let hosts = 0;
    let workers = 0;
    await inBatches(bounds, async () => {
      const [row] = rowsOf<{ hosts: number; workers: number }>(
        await db.execute(sql`
          with gone_workers as (
            delete from watchtower_workers where worker_id in (
              select worker_id from watchtower_workers
              where status in ('dead', 'stopped')
                and last_heartbeat < now() - make_interval(secs => ${seconds}::double precision)
              limit ${bounds.batchSize})
            returning 1
          ), gone_hosts as (
            delete from watchtower_hosts where host_id in (
              select host_id from watchtower_hosts
              where status in ('dead', 'stopped')
                and last_heartbeat < now() - make_interval(secs => ${seconds}::double precision)
              limit ${bounds.batchSize})
            returning 1
          )
          select (select count(*) from gone_hosts)::int as hosts, (select count(*) from gone_workers)::int as workers`),
      );
      hosts += Number(row?.hosts ?? 0);
      workers += Number(row?.workers ?? 0);
      return Math.max(Number(row?.hosts ?? 0), Number(row?.workers ?? 0));
    });
    return `${hosts} hosts, ${workers} workers gone more than ${days} d`;
  },
};
