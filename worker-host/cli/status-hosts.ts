import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { createNodeDatabase } from '../db/node-database';
import { ago, databaseUrl, print } from './cli-support';

interface HostRow {
  host_id: string;
  hostname: string;
  pid: number;
  version: string;
  status: string;
  supervisors: Array<{ name: string; status: string; queues: string[]; processes: Record<string, number> }>;
  memory_bytes: number | null;
  started_at: string;
  last_heartbeat: string;
  live: boolean;
}

interface WorkerRow {
  worker_id: string;
  host_id: string;
  supervisor: string;
  queue: string;
  pid: number | null;
  status: string;
  current_job: string | null;
  jobs_processed: number;
  jobs_failed: number;
  memory_bytes: number | null;
  restarts: number;
  last_error: string | null;
}

/** `watchtower status`: every host, from its heartbeats in Postgres. */
export async function statusHosts(values: { json: boolean; all: boolean }): Promise<number> {
  const database = createNodeDatabase(databaseUrl(), { max: 1 });
  try {
    const hosts = rowsOf<HostRow>(
      await database.db.execute(sql`
        select host_id, hostname, pid, version, status, supervisors, memory_bytes, started_at, last_heartbeat,
               (status in ('running', 'paused', 'terminating') and last_heartbeat > now() - interval '15 seconds') as live
        from watchtower_hosts
        where ${values.all ? sql`last_heartbeat > now() - interval '1 day'` : sql`status in ('running', 'paused', 'terminating') and last_heartbeat > now() - interval '15 seconds'`}
        order by hostname, host_id`),
    );
    const ids = hosts.map((host) => host.host_id);
    const workers =
      ids.length === 0
        ? []
        : rowsOf<WorkerRow>(
            await database.db.execute(sql`
              select worker_id, host_id, supervisor, queue, pid, status, current_job, jobs_processed, jobs_failed,
                     memory_bytes, restarts, last_error
              from watchtower_workers where host_id in (${sql.join(
                ids.map((id) => sql`${id}`),
                sql`, `,
              )})
              order by supervisor, queue, started_at`),
          );
    const running = hosts.some((host) => host.live);
    if (values.json) {
      print(
        JSON.stringify(
          {
            running,
            hosts: hosts.map((host) => ({
              ...host,
              workers: workers.filter((w) => w.host_id === host.host_id),
            })),
          },
          null,
          2,
        ),
      );
      return running ? 0 : 1;
    }
    if (hosts.length === 0) {
      print('Watchtower is inactive: no host has sent a heartbeat in the last 15 s.');
      return 1;
    }
    for (const host of hosts) {
      print(
        `Host ${host.host_id}: ${host.live ? host.status : host.status === 'stopped' ? 'stopped' : 'dead'}, pid ${host.pid}, ` +
          `${megabytes(host.memory_bytes)}, up since ${new Date(host.started_at).toISOString()}, heartbeat ${ago(host.last_heartbeat)}`,
      );
      for (const supervisor of host.supervisors) {
        const sizes = Object.entries(supervisor.processes ?? {})
          .map(([queue, n]) => `${queue}=${n}`)
          .join(' ');
        print(`  Supervisor ${supervisor.name} (${supervisor.status}): ${sizes}`);
        for (const worker of workers.filter(
          (w) => w.host_id === host.host_id && w.supervisor === supervisor.name,
        )) {
          print(
            `    ${worker.worker_id}  ${worker.queue}  ${worker.status.padEnd(10)} pid ${worker.pid ?? '-'}  ` +
              `done ${worker.jobs_processed}  failed ${worker.jobs_failed}  ${megabytes(worker.memory_bytes)}` +
              `${worker.current_job ? `  running job ${worker.current_job}` : ''}` +
              `${worker.restarts ? `  restarts ${worker.restarts}` : ''}${worker.last_error ? `  last error: ${worker.last_error}` : ''}`,
          );
        }
      }
    }
    return running ? 0 : 1;
  } finally {
    await database.close().catch(() => undefined);
  }
}

function megabytes(bytes: number | null): string {
  return bytes === null ? '- MB' : `${Math.round(Number(bytes) / 1048576)} MB`;
}
