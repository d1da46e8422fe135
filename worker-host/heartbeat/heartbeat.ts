import { sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../core/db/database';
import type { ConnectionHealthRow } from '../health/health-rollup';
import { cleanText, cutText, jsonbText } from '../recorder/storable';

/** Longest configuration error kept: a few lines on the dashboard. */
const MAX_CONFIG_ERROR_CHARS = 2000;

export type HostStatus = 'running' | 'paused' | 'terminating' | 'stopped';

export interface HostBeat {
  hostId: string;
  hostname: string;
  pid: number;
  version: string;
  status: HostStatus;
  connections: string[];
  supervisors: unknown[];
  memoryBytes: number;
  stats: Record<string, unknown>;
  startedAt: Date;
  /** What the host runs of the configuration kept in the database (none: a file-only host). */
  configuration?: HostConfiguration;
}

/** Written to the host's own columns, so the API can compare them with the current version. */
export interface HostConfiguration {
  /** `--labels` (WATCHTOWER_HOST_LABELS). */
  labels: string[];
  /** Whether it takes supervisors kept in the database (it has a processors directory). */
  takesDatabase: boolean;
  /** The database configuration version it applied; null when it applied none. */
  version: number | null;
  /** Why the last load or apply failed, or which supervisors it refused; null when all is well. */
  error: string | null;
  /** Whether WATCHTOWER_ENCRYPTION_KEY is set: it can open connections' secrets. */
  encryptionKey: boolean;
}

const NO_CONFIGURATION: HostConfiguration = {
  labels: [],
  takesDatabase: false,
  version: null,
  error: null,
  encryptionKey: false,
};

export interface WorkerBeat {
  workerId: string;
  supervisor: string;
  connection: string;
  queue: string;
  pid: number | null;
  status: string;
  currentJob: string | null;
  jobsProcessed: number;
  jobsFailed: number;
  memoryBytes: number | null;
  restarts: number;
  lastError: string | null;
  startedAt: Date;
}

/**
 * When the beat after one that ran at `now` is due, given when that one was due: one interval
 * after it was due, so beats keep their rate although the host's loop runs them on its next tick
 * (counted from the tick, beats 5 s apart came 5.004 to 5.011 s apart). A beat that ran an interval
 * or more late, or the first, starts the count again from now.
 */
export function nextBeatDue(due: number, now: number, intervalMs: number): number {
  return due > 0 && now - due < intervalMs ? due + intervalMs : now + intervalMs;
}

export interface HeartbeatResult {
  workers: number;
  /** Other hosts found dead by this beat's sweep, and their workers. */
  deadHosts: number;
  deadWorkers: number;
}

/**
 * One heartbeat: a single statement that upserts the host's row and all its workers' rows, and
 * sweeps every other host (and worker) not seen for `deadAfterSeconds` into `dead`, and writes the
 * connections' health rows of the minutes checked since the last beat. One round trip per host per
 * interval whatever the number of workers and connections; any live host does the sweep, so a
 * dead host shows as dead within deadAfter + one interval without a separate job.
 *
 * Times come from the database's clock, so hosts with skewed clocks still agree on who is dead.
 */
export async function writeHeartbeat(
  db: Database,
  host: HostBeat,
  workers: readonly WorkerBeat[],
  options: { deadAfterSeconds: number; health?: readonly ConnectionHealthRow[] },
): Promise<HeartbeatResult> {
  // A NUL in a job id or an error message must not make Postgres refuse the beat (the host would
  // look dead): jsonbText replaces what jsonb refuses.
  const workersJson = jsonbText(
    workers.map((worker) => ({
      worker_id: worker.workerId,
      supervisor: worker.supervisor,
      connection: worker.connection,
      queue: worker.queue,
      pid: worker.pid,
      status: worker.status,
      current_job: worker.currentJob,
      jobs_processed: worker.jobsProcessed,
      jobs_failed: worker.jobsFailed,
      memory_bytes: worker.memoryBytes,
      restarts: worker.restarts,
      last_error: worker.lastError,
      started_at: worker.startedAt.toISOString(),
    })),
  );
  // The connections' health rows ride along (worker-host/health/): a minute's row is computed
  // from all its checks, so a second write of the same minute replaces the first.
  const healthJson = jsonbText(
    (options.health ?? []).map((row) => ({
      minute: row.minute,
      connection: row.connection,
      kind: row.kind,
      checks: row.checks,
      errors: row.errors,
      up: row.up,
      latency_p50_ms: row.latencyP50Ms,
      latency_p95_ms: row.latencyP95Ms,
      last_error: row.lastError,
      redis_version: row.redisVersion,
      used_memory: row.usedMemory,
      maxmemory: row.maxmemory,
      maxmemory_policy: row.maxmemoryPolicy,
      connected_clients: row.connectedClients,
    })),
  );
  const configuration = host.configuration ?? NO_CONFIGURATION;
  // Postgres refuses a NUL in text: an error message quoting a hostile name must not stop the beat.
  const configError =
    configuration.error === null ? null : cleanText(cutText(configuration.error, MAX_CONFIG_ERROR_CHARS));
  const result = await db.execute(sql`
    with host as (
      insert into watchtower_hosts (host_id, hostname, pid, version, status, connections, supervisors,
                                    memory_bytes, stats, started_at, last_heartbeat, labels, database_config,
                                    config_version, config_error, encryption_key)
      values (${host.hostId}, ${host.hostname}, ${host.pid}, ${host.version}, ${host.status},
              ${jsonbText(host.connections)}::jsonb, ${jsonbText(host.supervisors)}::jsonb,
              ${host.memoryBytes}, ${jsonbText(host.stats)}::jsonb, ${host.startedAt.toISOString()}, now(),
              ${jsonbText(configuration.labels)}::jsonb, ${configuration.takesDatabase},
              ${configuration.version}::bigint, ${configError}, ${configuration.encryptionKey})
      on conflict (host_id) do update set
        hostname = excluded.hostname, pid = excluded.pid, version = excluded.version, status = excluded.status,
        connections = excluded.connections, supervisors = excluded.supervisors,
        memory_bytes = excluded.memory_bytes, stats = excluded.stats, last_heartbeat = now(),
        labels = excluded.labels, database_config = excluded.database_config,
        config_version = excluded.config_version, config_error = excluded.config_error,
        encryption_key = excluded.encryption_key
      returning 1
    ), workers as (
      insert into watchtower_workers (worker_id, host_id, supervisor, connection, queue, pid, status, current_job,
                                      jobs_processed, jobs_failed, memory_bytes, restarts, last_error,
                                      started_at, last_heartbeat)
      select w.worker_id, ${host.hostId}, w.supervisor, w.connection, w.queue, w.pid, w.status, w.current_job,
             w.jobs_processed, w.jobs_failed, w.memory_bytes, w.restarts, w.last_error, w.started_at, now()
      from jsonb_to_recordset(${workersJson}::jsonb) as w(
        worker_id text, supervisor text, connection text, queue text, pid integer, status text,
        current_job text, jobs_processed bigint, jobs_failed bigint, memory_bytes bigint, restarts integer,
        last_error text, started_at timestamptz)
      on conflict (worker_id) do update set
        host_id = excluded.host_id, supervisor = excluded.supervisor, connection = excluded.connection,
        queue = excluded.queue, pid = excluded.pid, status = excluded.status, current_job = excluded.current_job,
        jobs_processed = excluded.jobs_processed, jobs_failed = excluded.jobs_failed,
        memory_bytes = excluded.memory_bytes, restarts = excluded.restarts, last_error = excluded.last_error,
        last_heartbeat = now()
      returning 1
    ), health as (
      insert into watchtower_connection_health (minute, host_id, connection, kind, checks, errors, up,
                                                latency_p50_ms, latency_p95_ms, last_error, redis_version,
                                                used_memory, maxmemory, maxmemory_policy, connected_clients)
      select r.minute, ${host.hostId}, r.connection, r.kind, r.checks, r.errors, r.up, r.latency_p50_ms,
             r.latency_p95_ms, r.last_error, r.redis_version, r.used_memory, r.maxmemory, r.maxmemory_policy,
             r.connected_clients
      from jsonb_to_recordset(${healthJson}::jsonb) as r(
        minute timestamptz, connection text, kind text, checks integer, errors integer, up boolean,
        latency_p50_ms double precision, latency_p95_ms double precision, last_error text, redis_version text,
        used_memory bigint, maxmemory bigint, maxmemory_policy text, connected_clients integer)
      on conflict (minute, host_id, connection) do update set
        kind = excluded.kind, checks = excluded.checks, errors = excluded.errors, up = excluded.up,
        latency_p50_ms = excluded.latency_p50_ms, latency_p95_ms = excluded.latency_p95_ms,
        last_error = excluded.last_error, redis_version = excluded.redis_version,
        used_memory = excluded.used_memory, maxmemory = excluded.maxmemory,
        maxmemory_policy = excluded.maxmemory_policy, connected_clients = excluded.connected_clients
      returning 1
    ), dead_hosts as (
      update watchtower_hosts set status = 'dead'
      where status <> 'dead' and status <> 'stopped' and host_id <> ${host.hostId}
        and last_heartbeat < now() - make_interval(secs => ${options.deadAfterSeconds}::double precision)
      returning 1
    ), dead_workers as (
      update watchtower_workers set status = 'dead', current_job = null
      where status <> 'dead' and status <> 'stopped' and host_id <> ${host.hostId}
        and last_heartbeat < now() - make_interval(secs => ${options.deadAfterSeconds}::double precision)
      returning 1
    )
    select (select count(*) from host)::int as hosts, (select count(*) from workers)::int as workers,
           (select count(*) from health)::int as health,
           (select count(*) from dead_hosts)::int as dead_hosts, (select count(*) from dead_workers)::int as dead_workers`);
  const row = rowsOf<{ workers: number; dead_hosts: number; dead_workers: number }>(result)[0];
  return {
    workers: Number(row?.workers ?? 0),
    deadHosts: Number(row?.dead_hosts ?? 0),
    deadWorkers: Number(row?.dead_workers ?? 0),
  };
}
