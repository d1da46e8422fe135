import { z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { PendingRequestSchema } from '../commands/pending-requests';
import { num, query } from './sql';

/**
 * Supervisors as the live hosts report them in their heartbeats (watchtower_hosts.supervisors).
 * A supervisor is addressed by name: every live host running one of that name answers its
 * commands, so the list groups the per-host instances under the name.
 */

const InstanceSchema = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    status: z.string().openapi({ example: 'running' }),
    connection: z.string(),
    queues: z.array(z.string()),
    balance: z.string().nullable(),
    minProcesses: z.number().int().nullable(),
    maxProcesses: z.number().int().nullable(),
    processes: z.record(z.string(), z.number().int()).openapi({ description: 'Worker processes per queue' }),
    workers: z
      .record(z.string(), z.number().int())
      .openapi({ description: 'Its worker processes by status' }),
  })
  .openapi('SupervisorInstance');
export type SupervisorInstance = z.infer<typeof InstanceSchema>;

export const SupervisorSchema = z
  .object({
    name: z.string(),
    connections: z.array(z.string()),
    queues: z.array(z.string()),
    processes: z.number().int().openapi({ description: 'Worker processes over all its hosts' }),
    instances: z.array(InstanceSchema),
    pending: PendingRequestSchema.nullable(),
  })
  .openapi('Supervisor');
export type Supervisor = z.infer<typeof SupervisorSchema>;
export type SupervisorRow = Omit<Supervisor, 'pending'>;

interface Row {
  host_id: string;
  hostname: string;
  snapshot: Record<string, unknown>;
  workers: Record<string, number> | null;
}

/** Every supervisor of the live hosts (a host reports a handful), grouped by name, sorted by name. */
export async function listSupervisors(db: StatementDatabase): Promise<SupervisorRow[]> {
  const rows = await query<Row>(
    db,
    sql`select h.host_id, h.hostname, s.value as snapshot,
          (select json_object_agg(x.status, x.n) from (
             select w.status, count(*)::int as n from watchtower_workers w
             where w.host_id = h.host_id and w.supervisor = s.value->>'name' and w.status <> 'dead'
             group by w.status) x) as workers
        from watchtower_hosts h
        cross join lateral jsonb_array_elements(
          case when jsonb_typeof(h.supervisors) = 'array' then h.supervisors else '[]'::jsonb end) s
        where h.status <> 'dead' and h.status <> 'stopped' and jsonb_typeof(s.value->'name') = 'string'
        order by s.value->>'name', h.host_id`,
  );
  const byName = new Map<string, SupervisorRow>();
  for (const row of rows) {
    const instance = toInstance(row);
    const name = String(row.snapshot.name);
    let supervisor = byName.get(name);
    if (!supervisor) {
      supervisor = { name, connections: [], queues: [], processes: 0, instances: [] };
      byName.set(name, supervisor);
    }
    supervisor.instances.push(instance);
    if (!supervisor.connections.includes(instance.connection))
      supervisor.connections.push(instance.connection);
    for (const queue of instance.queues)
      if (!supervisor.queues.includes(queue)) supervisor.queues.push(queue);
    supervisor.processes += Object.values(instance.processes).reduce((sum, n) => sum + n, 0);
  }
  return [...byName.values()];
}

function toInstance(row: Row): SupervisorInstance {
  const s = row.snapshot;
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  const int = (value: unknown): number | null =>
    typeof value === 'number' && Number.isFinite(value) ? value : null;
  const processes: Record<string, number> = {};
  if (typeof s.processes === 'object' && s.processes !== null) {
    for (const [queue, n] of Object.entries(s.processes)) processes[queue] = num(int(n));
  }
  return {
    hostId: row.host_id,
    hostname: row.hostname,
    status: text(s.status) ?? 'unknown',
    connection: text(s.connection) ?? 'default',
    queues: Array.isArray(s.queues) ? s.queues.filter((q): q is string => typeof q === 'string') : [],
    balance: text(s.balance),
    minProcesses: int(s.minProcesses),
    maxProcesses: int(s.maxProcesses),
    processes,
    workers: row.workers ?? {},
  };
}
