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
    labels: z.array(z.string()).openapi({
      description: 'Its `--labels`: which supervisors kept in the database it runs',
    }),
    configVersion: z.number().int().nullable().openapi({
      description:
        'The database configuration version it applied (watchtower_config_version); null for a host that takes none',
    }),
    configError: z.string().nullable().openapi({
      description:
        'Why loading or applying the database configuration failed, or which supervisors it refused',
    }),
    configDrift: z.boolean().openapi({
      description:
        'It takes database configurations and runs another version than the current one, or reports an error',
    }),
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
  labels: string[] | null;
  config_version: number | null;
  config_error: string | null;
  config_drift: boolean | null;
}

const SELECT = sql`select h.host_id, h.hostname, h.pid, h.version, h.status, h.connections, h.supervisors, h.memory_bytes,
    h.stats, ${isoText(sql`h.started_at`)} as started_at, ${isoText(sql`h.last_heartbeat`)} as last_heartbeat,
    round(extract(epoch from now() - h.last_heartbeat)::numeric, 1) as heartbeat_age,
    (select json_object_agg(s.status, s.n) from (select w.status, count(*)::int as n from watchtower_workers w
                                                  where w.host_id = h.host_id group by w.status) s) as workers,
    (select count(*) from watchtower_recorder_dead_letters d where d.host_id = h.host_id) as dead_letters,
    h.labels, case when h.database_config then h.config_version end as config_version, h.config_error,
    (h.database_config and (h.config_error is not null or h.config_version is distinct from
      coalesce((select v.version from watchtower_config_version v where v.id = 1), 0))) as config_drift
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
    labels: Array.isArray(row.labels) ? row.labels : [],
    configVersion: row.config_version === null ? null : num(row.config_version),
    configError: row.config_error,
    configDrift: row.config_drift === true,
  };
}

/**
 * The live host best placed to carry out a command about connection `name`: one whose running
 * supervisors use it (it already reaches it), then one that reports WATCHTOWER_ENCRYPTION_KEY (it
 * can open the secret; hosts that do not report it come after), the most recently heard from
 * first. Running hosts before those still terminating. Null when no host is live.
 */
export async function pickHostForConnection(db: StatementDatabase, name: string): Promise<string | null> {
  const rows = await query<{ host_id: string }>(
    db,
    sql`select h.host_id from watchtower_hosts h
        where h.status <> 'dead' and h.status <> 'stopped'
        order by (h.status = 'running') desc,
                 exists (select 1 from jsonb_array_elements(case jsonb_typeof(h.supervisors)
                                                                 when 'array' then h.supervisors else '[]'::jsonb end) s
                         where s->>'connection' = ${name} and s->>'status' = 'running') desc,
                 coalesce(h.encryption_key, false) desc,
                 h.last_heartbeat desc, h.host_id
        limit 1`,
  );
  return rows[0]?.host_id ?? null;
}
