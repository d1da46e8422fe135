import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { workers } from '../../drizzle/schema';
import { PendingRequestSchema } from '../commands/pending-requests';
import { TimestampSchema } from '../schemas/common';
import { isoText, num, numOrNull, query } from './sql';

export const WORKER_STATUSES = workers.status.enumValues;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

export const WorkerSchema = z
  .object({
    workerId: z.string(),
    hostId: z.string(),
    hostname: z.string().nullable(),
    supervisor: z.string(),
    connection: z.string(),
    queue: z.string(),
    pid: z.number().int().nullable(),
    status: z.enum(WORKER_STATUSES).openapi({ description: "As the host's last heartbeat confirmed it" }),
    currentJob: z.string().nullable().openapi({ description: 'The BullMQ id of the job it is running' }),
    currentJobRowId: z.number().int().nullable().openapi({
      description:
        'The row id (GET /api/jobs/{id}) of the newest recorded job of that id in its queue; null until recorded',
    }),
    jobsProcessed: z.number().int(),
    jobsFailed: z.number().int(),
    memoryBytes: z.number().int().nullable(),
    restarts: z.number().int(),
    lastError: z.string().nullable(),
    startedAt: TimestampSchema,
    lastHeartbeat: TimestampSchema,
    inLastHeartbeat: z.boolean().openapi({
      description:
        "Its host's latest heartbeat listed it. false: the host no longer runs it (scaled down, removed by a " +
        'reload); its row keeps the status of its last beat (usually stopped)',
    }),
    heartbeatAgeSeconds: z
      .number()
      .openapi({ description: "Seconds since the last heartbeat, by the database's clock" }),
    pending: PendingRequestSchema.nullable().openapi({
      description:
        'The newest request no host has answered yet (e.g. worker.stop while it finishes its jobs)',
    }),
  })
  .openapi('Worker');
export type Worker = z.infer<typeof WorkerSchema>;
export type WorkerRow = Omit<Worker, 'pending'>;

export interface WorkerFilter {
  /** Without a status: every worker but the dead ones (stopped ones stay: they can be restarted). */
  status?: WorkerStatus | undefined;
  host?: string | undefined;
  supervisor?: string | undefined;
  queue?: string | undefined;
  limit: number;
}

export interface WorkerDbRow {
  worker_id: string;
  host_id: string;
  hostname: string | null;
  supervisor: string;
  connection: string;
  queue: string;
  pid: number | null;
  status: WorkerStatus;
  current_job: string | null;
  current_job_row_id: number | string | null;
  jobs_processed: number | string;
  jobs_failed: number | string;
  memory_bytes: number | string | null;
  restarts: number;
  last_error: string | null;
  started_at: string;
  last_heartbeat: string;
  in_last_heartbeat: boolean;
  heartbeat_age: number | string;
}

const SELECT = sql`select w.worker_id, w.host_id, h.hostname, w.supervisor, w.connection, w.queue, w.pid, w.status,
    w.current_job,
    -- The natural key's index: the newest job of that BullMQ id in the worker's queue.
    (select j.id from watchtower_jobs j
      where j.connection = w.connection and j.queue = w.queue and j.job_id = w.current_job
      order by j.job_timestamp desc limit 1) as current_job_row_id,
    w.jobs_processed, w.jobs_failed, w.memory_bytes, w.restarts, w.last_error,
    ${isoText(sql`w.started_at`)} as started_at, ${isoText(sql`w.last_heartbeat`)} as last_heartbeat,
    -- A heartbeat writes its host and all the workers it lists in one statement, with one now().
    (h.last_heartbeat is null or w.last_heartbeat >= h.last_heartbeat) as in_last_heartbeat,
    round(extract(epoch from now() - w.last_heartbeat)::numeric, 1) as heartbeat_age
  from watchtower_workers w left join watchtower_hosts h on h.host_id = w.host_id`;

/**
 * Worker processes by host, supervisor and queue. The table holds one row per worker id (hosts
 * upsert them with every heartbeat), so this is a small read; a host filter uses
 * watchtower_workers_host. One more row than asked says whether the list was cut.
 */
export async function listWorkers(
  db: StatementDatabase,
  filter: WorkerFilter,
): Promise<{ workers: WorkerRow[]; truncated: boolean }> {
  return toWorkerPage(await query<WorkerDbRow>(db, workersSql(filter)), filter.limit);
}

/** The statement behind listWorkers: the workers plus one (which says whether the list was cut). */
export function workersSql(filter: WorkerFilter): SQL {
  const conditions: SQL[] = [
    filter.status === undefined ? sql`w.status <> 'dead'` : sql`w.status = ${filter.status}`,
  ];
  if (filter.host !== undefined) conditions.push(sql`w.host_id = ${filter.host}`);
  if (filter.supervisor !== undefined) conditions.push(sql`w.supervisor = ${filter.supervisor}`);
  if (filter.queue !== undefined) conditions.push(sql`w.queue = ${filter.queue}`);
  return sql`${SELECT} where ${sql.join(conditions, sql` and `)}
             order by w.host_id, w.supervisor, w.queue, w.worker_id limit ${filter.limit + 1}`;
}

export function toWorkerPage(
  rows: readonly WorkerDbRow[],
  limit: number,
): { workers: WorkerRow[]; truncated: boolean } {
  return { workers: rows.slice(0, limit).map(toWorker), truncated: rows.length > limit };
}

export async function findWorker(db: StatementDatabase, workerId: string): Promise<WorkerRow | null> {
  const rows = await query<WorkerDbRow>(db, sql`${SELECT} where w.worker_id = ${workerId}`);
  return rows[0] ? toWorker(rows[0]) : null;
}

function toWorker(row: WorkerDbRow): WorkerRow {
  return {
    workerId: row.worker_id,
    hostId: row.host_id,
    hostname: row.hostname,
    supervisor: row.supervisor,
    connection: row.connection,
    queue: row.queue,
    pid: row.pid,
    status: row.status,
    currentJob: row.current_job,
    currentJobRowId: numOrNull(row.current_job_row_id),
    jobsProcessed: num(row.jobs_processed),
    jobsFailed: num(row.jobs_failed),
    memoryBytes: numOrNull(row.memory_bytes),
    restarts: num(row.restarts),
    lastError: row.last_error,
    startedAt: row.started_at,
    lastHeartbeat: row.last_heartbeat,
    inLastHeartbeat: row.in_last_heartbeat === true,
    heartbeatAgeSeconds: num(row.heartbeat_age),
  };
}
