import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { hostDeadAfterSeconds, pruneBounds } from '../config';
import type { HousekeepingStep } from './step';

/**
 * Marks `dead` every host not heard from for WATCHTOWER_HOST_DEAD_AFTER_SECONDS (default 15), and
 * the worker rows of those hosts and any other worker row as stale, exactly as a live host's
 * heartbeat sweeps them (worker-host/heartbeat/heartbeat.ts): stopped ones stay stopped, a dead
 * worker has no current job. The cron does it too so that a fleet whose last host died still shows
 * dead. Times come from the database's clock.
 */
export const sweepDeadHosts: HousekeepingStep = {
  name: 'dead hosts',
  async run({ db, env }) {
    const seconds = hostDeadAfterSeconds(env);
    const { batchSize } = pruneBounds(env);
    const rows = rowsOf<{ hosts: number; workers: number }>(
      await db.execute(sql`
        with dead_hosts as (
          update watchtower_hosts set status = 'dead'
          where host_id in (
            select host_id from watchtower_hosts
            where status <> 'dead' and status <> 'stopped'
              and last_heartbeat < now() - make_interval(secs => ${seconds}::double precision)
            limit ${batchSize})
          returning host_id
        ), dead_workers as (
          update watchtower_workers set status = 'dead', current_job = null
          where worker_id in (
            select worker_id from watchtower_workers
            where status <> 'dead' and status <> 'stopped'
              and (last_heartbeat < now() - make_interval(secs => ${seconds}::double precision)
                   or host_id in (select host_id from dead_hosts))
            limit ${batchSize})
          returning 1
        )
        select (select count(*) from dead_hosts)::int as hosts, (select count(*) from dead_workers)::int as workers`),
    );
    return `${Number(rows[0]?.hosts ?? 0)} hosts, ${Number(rows[0]?.workers ?? 0)} workers`;
  },
};
