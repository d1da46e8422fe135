import { type SQL, sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * Deletes hosts and worker processes that are gone (dead or stopped) and were last heard from more
 * than WATCHTOWER_RETENTION_HOSTS_DAYS ago, so the lists do not fill up with every container that
 * ever ran (each deploy brings new host ids). A host that comes back writes its rows again with
 * its next heartbeat. Their jobs' history is kept: job rows name a worker id, not a row here.
 */
/** Deletes up to `limit` dead or stopped rows of `table` last heard from more than `seconds` ago. */
function goneRows(
  table: 'watchtower_workers' | 'watchtower_hosts',
  key: 'worker_id' | 'host_id',
  seconds: number,
  limit: number,
): SQL {
  return sql`delete from ${sql.identifier(table)} where ${sql.identifier(key)} in (
      select ${sql.identifier(key)} from ${sql.identifier(table)}
      where status in ('dead', 'stopped')
        and last_heartbeat < now() - make_interval(secs => ${seconds}::double precision)
      limit ${limit})
    returning 1`;
}

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
          with gone_workers as (${goneRows('watchtower_workers', 'worker_id', seconds, bounds.batchSize)}),
            gone_hosts as (${goneRows('watchtower_hosts', 'host_id', seconds, bounds.batchSize)})
          select (select count(*) from gone_hosts)::int as hosts, (select count(*) from gone_workers)::int as workers`),
      );
      const gone = { hosts: Number(row?.hosts ?? 0), workers: Number(row?.workers ?? 0) };
      hosts += gone.hosts;
      workers += gone.workers;
      return Math.max(gone.hosts, gone.workers);
    });
    return `${hosts} hosts, ${workers} workers gone more than ${days} d`;
  },
};
