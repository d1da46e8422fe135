import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { hosts } from '../../drizzle/schema';
import { PendingRequestSchema } from '../commands/pending-requests';
import { TimestampSchema } from '../schemas/common';
import { isoText, num, numOrNull, query } from './sql';

export const HOST_STATUSES = hosts.status.enumValues;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** Hosts that can still carry out a command. */
export function isLiveHost(status: HostStatus): boolean {
  return status !== 'dead' && status !== 'stopped';
}

export const HostSchema = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    pid: z.number().int(),
    version: z.string(),
    status: z
      .enum(HOST_STATUSES)
      .openapi({ description: 'As its last heartbeat said (dead: it stopped beating)' }),
    connections: z.array(z.string()),
    supervisors: z
      .array(z.unknown())
      .openapi({ description: "Each supervisor's state, as the host reported it" }),
    memoryBytes: z.number().int().nullable(),
    stats: z.record(z.string(), z.unknown()).openapi({ description: 'What the host counts about itself' }),
    startedAt: TimestampSchema,
    lastHeartbeat: TimestampSchema,
    heartbeatAgeSeconds: z.number(),
    workers: z
      .record(z.string(), z.number().int())
      .openapi({ description: 'Its worker processes by status', example: { running: 4, paused: 1 } }),
    deadLetters: z.number().int().openapi({
      description:
        'Rows its recorder set aside because Postgres refused them for their content (GET /api/recorder/dead-letters?host=)',
    }),
    pending: PendingRequestSchema.nullable(),
  })
  .openapi('Host');
export type Host = z.infer<typeof HostSchema>;
export type HostRow = Omit<Host, 'pending'>;

interface Row {
  host_id: string;
  hostname: string;
  pid: number;
  version: string;
  status: HostStatus;
  connections: string[] | null;
  supervisors: unknown[] | null;
  memory_bytes: number | string | null;
  stats: Record<string, unknown> | null;
  started_at: string;
  last_heartbeat: string;
  heartbeat_age: number | string;
  workers: Record<string, number> | null;
  dead_letters: number | string | null;
}

const SELECT = sql`select h.host_id, h.hostname, h.pid, h.version, h.status, h.connections, h.supervisors, h.memory_bytes,
    h.stats, ${isoText(sql`h.started_at`)} as started_at, ${isoText(sql`h.last_heartbeat`)} as last_heartbeat,
    round(extract(epoch from now() - h.last_heartbeat)::numeric, 1) as heartbeat_age,
    (select json_object_agg(s.status, s.n) from (select w.status, count(*)::int as n from watchtower_workers w
                                                  where w.host_id = h.host_id group by w.status) s) as workers,
    (select count(*) from watchtower_recorder_dead_letters d where d.host_id = h.host_id) as dead_letters
  from watchtower_hosts h`;

/** Hosts, most recently heard from first; by default the live ones (not dead or stopped). */
export async function listHosts(
  db: StatementDatabase,
  filter: { status?: HostStatus | undefined; limit: number },
): Promise<{ hosts: HostRow[]; truncated: boolean }> {
  const where: SQL =
    filter.status === undefined
      ? sql`h.status <> 'dead' and h.status <> 'stopped'`
      : sql`h.status = ${filter.status}`;
  const rows = await query<Row>(
    db,
    sql`${SELECT} where ${where} order by h.last_heartbeat desc nulls last, h.host_id limit ${filter.limit + 1}`,
  );
  return { hosts: rows.slice(0, filter.limit).map(toHost), truncated: rows.length > filter.limit };
}

export async function findHost(db: StatementDatabase, hostId: string): Promise<HostRow | null> {
  const rows = await query<Row>(db, sql`${SELECT} where h.host_id = ${hostId}`);
  return rows[0] ? toHost(rows[0]) : null;
}

function toHost(row: Row): HostRow {
  return {
    hostId: row.host_id,
    hostname: row.hostname,
    pid: row.pid,
    version: row.version,
    status: row.status,
    connections: Array.isArray(row.connections) ? row.connections : [],
    supervisors: Array.isArray(row.supervisors) ? row.supervisors : [],
    memoryBytes: numOrNull(row.memory_bytes),
    stats: row.stats ?? {},
    startedAt: row.started_at,
    lastHeartbeat: row.last_heartbeat,
    heartbeatAgeSeconds: num(row.heartbeat_age),
    workers: row.workers ?? {},
    deadLetters: num(row.dead_letters),
  };
}
