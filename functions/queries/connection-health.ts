import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { TimestampSchema } from '../schemas/common';
import { HOST_STATUSES, type HostStatus, isLiveHost } from './hosts';
import { ROLLUP_GRACE_MINUTES } from './metrics';
import { isoText, num, numOrNull, query } from './sql';

/**
 * Connections' and hosts' health over 1 h, 24 h, 7 d, 30 d or 90 d, from the per-minute rows the
 * hosts write with their heartbeats (watchtower_connection_health), their hourly rollups
 * (watchtower_connection_health_hourly, kept by the cron) and watchtower_hosts.
 *
 * A connection's state now comes from the newest row of each live host (running, paused or
 * terminating) that still has it in its configuration (its heartbeat's `connections`): `down` as soon as one of them saw it down in its last check (a
 * connection one host cannot reach is a connection that host's workers cannot use), `up` when all
 * of them saw it up, `unknown` when no live host has checked it in the range (it is shown with the
 * hosts that did).
 *
 * 1h reads the minute rows, one point per minute. The other ranges are per hour, and take each
 * hour from one place, as the metrics do (functions/queries/metrics.ts, hourlySourceSql):
 * - an hour before the current one that the cron rolled up (functions/housekeeping/
 *   rollup-connection-health.ts) after it ended (rolled_at >= its end + ROLLUP_GRACE_MINUTES) is
 *   read from the hourly rows, one per host and connection;
 * - any other hour (the current one always, one the cron has not rolled up yet or that a late
 *   minute row marked untrusted) is read from the minute rows.
 * An hour's p50 is the median of its rows' p50s and its p95 the 95th percentile of their p95s (the
 * rows keep no distribution to merge exactly): with one host per connection the same figures from
 * either table; with several, a rolled-up hour takes them over the hosts' hourly figures rather
 * than over all their minutes. A host whose newest check in the range is in a rolled-up hour shows
 * that hour's last check (`up`, its minute) with the hour's latency. Minutes are kept 30 days
 * (WATCHTOWER_RETENTION_HEALTH_DAYS) and hours the longer of that and 90 days, so a statement reads
 * at most one row per host, connection and hour (2,160 for 90d) plus the minutes of the hours not
 * rolled up (this hour and the last, unless the cron is behind).
 */
export const HEALTH_RANGES = {
  '1h': { step: 'minute', points: 60 },
  '24h': { step: 'hour', points: 24 },
  '7d': { step: 'hour', points: 168 },
  '30d': { step: 'hour', points: 720 },
  '90d': { step: 'hour', points: 2160 },
} as const;
export type HealthRange = keyof typeof HEALTH_RANGES;
export const HEALTH_RANGE_NAMES = Object.keys(HEALTH_RANGES) as [HealthRange, ...HealthRange[]];

const StateSchema = z.enum(['up', 'down', 'unknown']);

const HostCheckSchema = z.object({
  hostId: z.string(),
  hostname: z.string().nullable(),
  hostStatus: z.enum(HOST_STATUSES).nullable().openapi({ description: 'null: the host row is gone' }),
  up: z.boolean().openapi({ description: "The host's last check of this connection" }),
  checkedAt: TimestampSchema.openapi({ description: 'The minute of that check' }),
  lastError: z.string().nullable().openapi({ description: "That minute's last error" }),
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
});

const PointSchema = z.object({
  at: TimestampSchema.openapi({ description: 'Start of the minute or hour' }),
  p50Ms: z.number().nullable().openapi({ description: 'null: no successful check in the step' }),
  p95Ms: z.number().nullable(),
  checks: z.number().int(),
  errors: z.number().int(),
});

const ConnectionSchema = z
  .object({
    name: z.string().openapi({ description: 'The connection name as the hosts configure it' }),
    kind: z.enum(['redis', 'postgres']),
    state: StateSchema.openapi({
      description:
        'From the newest check of each live host: down when any of them saw it down, up when all saw it up, unknown when no live host checked it in the range',
    }),
    hosts: z.array(HostCheckSchema).openapi({ description: 'Every host that checked it in the range' }),
    checks: z.number().int().openapi({ description: 'Checks in the range, all hosts' }),
    errors: z.number().int().openapi({ description: 'Failed checks in the range, all hosts' }),
    lastError: z.string().nullable().openapi({ description: 'The newest error in the range' }),
    lastErrorAt: TimestampSchema.nullable().openapi({ description: 'The minute of that error' }),
    redisVersion: z.string().nullable(),
    usedMemoryBytes: z.number().nullable(),
    maxmemoryBytes: z.number().nullable().openapi({ description: '0: no limit' }),
    maxmemoryPolicy: z.string().nullable(),
    connectedClients: z.number().int().nullable(),
    noeviction: z.boolean().nullable().openapi({
      description:
        'Whether maxmemory-policy is noeviction, as BullMQ needs (false: Redis may evict queue keys); null on Postgres or when INFO was not read',
    }),
    series: z
      .array(PointSchema)
      .openapi({ description: 'Oldest first, one per step, the current step last' }),
  })
  .openapi('ConnectionHealth');

const HostHealthSchema = z.object({
  hostId: z.string(),
  hostname: z.string(),
  status: z.enum(HOST_STATUSES),
  lastHeartbeat: TimestampSchema,
  heartbeatAgeSeconds: z.number(),
  connections: z.array(z.string()),
});

export const HealthAnswerSchema = z
  .object({
    range: z.enum(HEALTH_RANGE_NAMES),
    step: z.enum(['minute', 'hour']),
    connections: z.array(ConnectionSchema).openapi({ description: 'Down first, then by name' }),
    hosts: z.array(HostHealthSchema).openapi({
      description: 'Hosts heard from in the range (at most 200), most recent heartbeat first',
    }),
  })
  .openapi('ConnectionHealthAnswer');
export type HealthAnswer = z.infer<typeof HealthAnswerSchema>;
type Connection = z.infer<typeof ConnectionSchema>;

interface LatestRow {
  connection: string;
  host_id: string;
  kind: 'redis' | 'postgres';
  checked_at: string;
  up: boolean;
  latency_p50_ms: number | string | null;
  latency_p95_ms: number | string | null;
  last_error: string | null;
  redis_version: string | null;
  used_memory: number | string | null;
  maxmemory: number | string | null;
  maxmemory_policy: string | null;
  connected_clients: number | string | null;
  hostname: string | null;
  host_status: HostStatus | null;
  /** Whether the host still has the connection in its configuration (a reload may remove it). */
  configured: boolean;
  checks_in_range: number | string;
  errors_in_range: number | string;
  range_error: string | null;
  range_error_at: string | null;
}

interface PointRow {
  connection: string;
  at: string;
  p50: number | string | null;
  p95: number | string | null;
  checks: number | string | null;
  errors: number | string | null;
}

interface HostRow {
  host_id: string;
  hostname: string;
  status: HostStatus;
  last_heartbeat: string;
  heartbeat_age: number | string;
  connections: string[] | null;
}

/** The first step of the range, as SQL: the series and every other figure start there. */
function rangeStart(range: HealthRange): SQL {
  const { step, points } = HEALTH_RANGES[range];
  return step === 'minute'
    ? sql`date_trunc('minute', now()) - make_interval(mins => ${points - 1})`
    : sql`date_trunc('hour', now()) - make_interval(hours => ${points - 1})`;
}

/** The health row's columns every source row carries, after its step, host and connection. */
const FIGURES = sql.raw(`kind, checks, errors, up, latency_p50_ms, latency_p95_ms, last_error,
                 redis_version, used_memory, maxmemory, maxmemory_policy, connected_clients`);

/**
 * The `source` CTE (with any it needs, without `with`): one row per step (`at`), host and
 * connection of the range, with the time of its newest check (`checked_at`) and of its error
 * (`last_error_at`). Minute rows for 1h; for the hourly ranges each hour from the hourly rollups
 * when the cron rolled it up after it ended, from the minute rows otherwise (see the comment at
 * the top). Rows stamped after this minute or hour (a host's clock ahead) are in `source` too: they
 * count in the totals and the newest checks, as they always did, but have no point.
 */
function sourceSql(range: HealthRange, since: SQL): SQL {
  if (HEALTH_RANGES[range].step === 'minute') {
    return sql`source as (
          select minute as at, host_id, connection, minute as checked_at,
                 case when last_error is not null then minute end as last_error_at, ${FIGURES}
          from watchtower_connection_health where minute >= ${since}
        )`;
  }
  return sql`slots as (
          select g.hour, r.rolled,
                 not r.rolled and exists (select 1 from watchtower_connection_health m
                                          where m.minute >= g.hour and m.minute < g.hour + interval '1 hour')
                   as from_minutes
          from generate_series(${since}, date_trunc('hour', now()) - interval '1 hour', interval '1 hour') as g(hour)
          cross join lateral (
            select exists (select 1 from watchtower_connection_health_hourly h
                           where h.hour = g.hour
                             and h.rolled_at >= g.hour + interval '1 hour'
                                                + make_interval(mins => ${ROLLUP_GRACE_MINUTES})) as rolled) r
        ), source as (
          select hour as at, host_id, connection, last_minute as checked_at, last_error_at, ${FIGURES}
          from watchtower_connection_health_hourly
          where hour >= ${since} and hour < date_trunc('hour', now())
            and hour in (select hour from slots where rolled)
          union all
          -- This hour (never rolled up for good yet) and after, then the earlier hours not rolled
          -- up, in two ranges whose bounds the planner can see (the second is empty unless the cron
          -- is behind or an hour took a late row).
          select date_trunc('hour', minute), host_id, connection, minute,
                 case when last_error is not null then minute end, ${FIGURES}
          from watchtower_connection_health
          where minute >= date_trunc('hour', now())
          union all
          select date_trunc('hour', minute), host_id, connection, minute,
                 case when last_error is not null then minute end, ${FIGURES}
          from watchtower_connection_health
          where minute >= (select min(hour) from slots where from_minutes)
            and minute < date_trunc('hour', now())
            and date_trunc('hour', minute) in (select hour from slots where from_minutes)
        )`;
}

export async function connectionHealthFor(db: StatementDatabase, range: HealthRange): Promise<HealthAnswer> {
  const { step } = HEALTH_RANGES[range];
  const since = rangeStart(range);
  const unit = step === 'minute' ? sql`'minute'` : sql`'hour'`;
  const stepInterval = step === 'minute' ? sql`interval '1 minute'` : sql`interval '1 hour'`;
  const source = sourceSql(range, since);

  // The newest row of each (host, connection), with its connection's totals and newest error.
  const latest = await query<LatestRow>(
    db,
    sql`with ${source}, latest as (
          select distinct on (r.host_id, r.connection) r.*
          from source r order by r.host_id, r.connection, r.checked_at desc
        ), totals as (
          select connection, sum(checks) as checks, sum(errors) as errors from source group by connection
        ), errs as (
          select distinct on (connection) connection, last_error, last_error_at from source
          where last_error is not null order by connection, last_error_at desc
        )
        select l.connection, l.host_id, l.kind, ${isoText(sql`l.checked_at`)} as checked_at, l.up,
               l.latency_p50_ms, l.latency_p95_ms, l.last_error, l.redis_version, l.used_memory, l.maxmemory,
               l.maxmemory_policy, l.connected_clients, h.hostname, h.status as host_status,
               coalesce(h.connections ? l.connection, false) as configured,
               t.checks as checks_in_range, t.errors as errors_in_range,
               e.last_error as range_error, ${isoText(sql`e.last_error_at`)} as range_error_at
        from latest l
        join totals t on t.connection = l.connection
        left join errs e on e.connection = l.connection
        left join watchtower_hosts h on h.host_id = l.host_id
        order by l.connection, l.checked_at desc, l.host_id`,
  );

  const series = await query<PointRow>(
    db,
    sql`with ${source}, steps as (
          select g.at from generate_series(${since}, date_trunc(${unit}, now()), ${stepInterval}) as g(at)
        ), agg as (
          select connection, at,
                 percentile_cont(0.5) within group (order by latency_p50_ms) as p50,
                 percentile_cont(0.95) within group (order by latency_p95_ms) as p95,
                 sum(checks) as checks, sum(errors) as errors
          from source
          group by connection, at
        ), names as (select distinct connection from agg)
        select n.connection, ${isoText(sql`s.at`)} as at, a.p50, a.p95, a.checks, a.errors
        from names n cross join steps s
        left join agg a on a.connection = n.connection and a.at = s.at
        order by n.connection, s.at`,
  );

  const hosts = await query<HostRow>(
    db,
    sql`select host_id, hostname, status, ${isoText(sql`last_heartbeat`)} as last_heartbeat,
               round(extract(epoch from now() - last_heartbeat)::numeric, 1) as heartbeat_age, connections
        from watchtower_hosts where last_heartbeat >= ${since}
        order by last_heartbeat desc, host_id limit 200`,
  );

  const seriesByName = new Map<string, Connection['series']>();
  for (const row of series) {
    const list = seriesByName.get(row.connection) ?? [];
    list.push({
      at: row.at,
      p50Ms: numOrNull(row.p50),
      p95Ms: numOrNull(row.p95),
      checks: num(row.checks),
      errors: num(row.errors),
    });
    seriesByName.set(row.connection, list);
  }

  const byName = new Map<string, LatestRow[]>();
  for (const row of latest) {
    const list = byName.get(row.connection) ?? [];
    list.push(row);
    byName.set(row.connection, list);
  }
  const connections = [...byName].map(([name, rows]) =>
    toConnection(name, rows, seriesByName.get(name) ?? []),
  );
  const order = { down: 0, unknown: 1, up: 2 } as const;
  connections.sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));

  return {
    range,
    step,
    connections,
    hosts: hosts.map((row) => ({
      hostId: row.host_id,
      hostname: row.hostname,
      status: row.status,
      lastHeartbeat: row.last_heartbeat,
      heartbeatAgeSeconds: num(row.heartbeat_age),
      connections: Array.isArray(row.connections) ? row.connections : [],
    })),
  };
}

/** `rows`: the newest row of each host checking the connection, newest first. */
function toConnection(name: string, rows: LatestRow[], series: Connection['series']): Connection {
  const first = rows[0] as LatestRow;
  const live = rows.filter(
    (row) => row.host_status !== null && isLiveHost(row.host_status) && row.configured,
  );
  const state = live.length === 0 ? 'unknown' : live.some((row) => !row.up) ? 'down' : 'up';
  // INFO's figures from the newest check that read them (a down minute has none).
  const facts = rows.find((row) => row.redis_version !== null || row.maxmemory_policy !== null);
  const policy = facts?.maxmemory_policy ?? null;
  return {
    name,
    kind: first.kind,
    state,
    hosts: rows.map((row) => ({
      hostId: row.host_id,
      hostname: row.hostname,
      hostStatus: row.host_status,
      up: row.up,
      checkedAt: row.checked_at,
      lastError: row.last_error,
      latencyP50Ms: numOrNull(row.latency_p50_ms),
      latencyP95Ms: numOrNull(row.latency_p95_ms),
    })),
    checks: num(first.checks_in_range),
    errors: num(first.errors_in_range),
    lastError: first.range_error,
    lastErrorAt: first.range_error_at,
    redisVersion: facts?.redis_version ?? null,
    usedMemoryBytes: numOrNull(facts?.used_memory),
    maxmemoryBytes: numOrNull(facts?.maxmemory),
    maxmemoryPolicy: policy,
    connectedClients: numOrNull(facts?.connected_clients),
    noeviction: policy === null ? null : policy === 'noeviction',
    series,
  };
}
