import { sql } from 'drizzle-orm';
import { rowsOf } from '../../core/db/database';
import { HOUSEKEEPING_DEFAULTS, retentionDays } from '../config';
import { ROLLUP_GRACE_MINUTES } from '../queries/metrics';
import { hoursToRollUp } from './rollup-hours';
import { daysToSeconds, type HousekeepingStep } from './step';

/**
 * Recomputes watchtower_connection_health_hourly from the hosts' per-minute health rows
 * (watchtower_connection_health) for the same bounded set of hours as the metrics rollup
 * (rollup-metrics.ts): the current hour, the last ROLLUP_LOOKBACK_HOURS completed ones, and up to
 * ROLLUP_CATCH_UP_PER_RUN older hours of the last ROLLUP_CATCH_UP_WINDOW_HOURS that have minute
 * rows but were never rolled up after they ended (or were marked untrusted by a late minute row).
 * Each hour is rebuilt whole with an upsert per host and connection (and its rows that no longer
 * have minutes removed), so a run is idempotent and the minute rows stay the truth; a finished
 * hour's row is rewritten only when its figures changed. Hours that reach back past
 * WATCHTOWER_RETENTION_HEALTH_DAYS are never recomputed: their minutes may be half pruned, and the
 * hourly rows are what is left of them.
 *
 * Per hour, host and connection: checks and errors add up; `up` and `last_minute` are the newest
 * minute's; p50 is the median of the minutes' p50s and p95 the 95th percentile of their p95s (as
 * the health query computed hours from minutes); the error is the newest one, the INFO figures
 * those of the newest minute that read them (a minute without INFO has them all null).
 */
export const rollupConnectionHealth: HousekeepingStep = {
  name: 'connection health rollup',
  async run({ db, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_HEALTH_DAYS', HOUSEKEEPING_DEFAULTS.healthDays);
    const keptSeconds = daysToSeconds(days);
    const info = sql.raw('(m.redis_version is not null or m.maxmemory_policy is not null)');
    const [result] = rowsOf<{ hours: number; rows: number; removed: number }>(
      await db.execute(sql`
        with targets as (
          ${hoursToRollUp('watchtower_connection_health_hourly', 'watchtower_connection_health', keptSeconds)}
        ), agg as (
          select t.hour, m.host_id, m.connection,
                 (array_agg(m.kind order by m.minute desc))[1] as kind,
                 sum(m.checks)::int as checks, sum(m.errors)::int as errors,
                 (array_agg(m.up order by m.minute desc))[1] as up,
                 max(m.minute) as last_minute,
                 percentile_cont(0.5) within group (order by m.latency_p50_ms) as latency_p50_ms,
                 percentile_cont(0.95) within group (order by m.latency_p95_ms) as latency_p95_ms,
                 (array_agg(m.last_error order by m.minute desc) filter (where m.last_error is not null))[1]
                   as last_error,
                 max(m.minute) filter (where m.last_error is not null) as last_error_at,
                 (array_agg(m.redis_version order by m.minute desc) filter (where ${info}))[1] as redis_version,
                 (array_agg(m.used_memory order by m.minute desc) filter (where ${info}))[1] as used_memory,
                 (array_agg(m.maxmemory order by m.minute desc) filter (where ${info}))[1] as maxmemory,
                 (array_agg(m.maxmemory_policy order by m.minute desc) filter (where ${info}))[1]
                   as maxmemory_policy,
                 (array_agg(m.connected_clients order by m.minute desc) filter (where ${info}))[1]
                   as connected_clients
          from targets t
          cross join lateral (
            select * from watchtower_connection_health
            where minute >= t.hour and minute < t.hour + interval '1 hour') m
          group by t.hour, m.host_id, m.connection
        ), upserted as (
          insert into watchtower_connection_health_hourly as h (hour, host_id, connection, kind, checks,
            errors, up, last_minute, latency_p50_ms, latency_p95_ms, last_error, last_error_at,
            redis_version, used_memory, maxmemory, maxmemory_policy, connected_clients, rolled_at)
          select hour, host_id, connection, kind, checks, errors, up, last_minute, latency_p50_ms,
                 latency_p95_ms, last_error, last_error_at, redis_version, used_memory, maxmemory,
                 maxmemory_policy, connected_clients, now()
          from agg
          on conflict (hour, host_id, connection) do update set
            kind = excluded.kind, checks = excluded.checks, errors = excluded.errors, up = excluded.up,
            last_minute = excluded.last_minute, latency_p50_ms = excluded.latency_p50_ms,
            latency_p95_ms = excluded.latency_p95_ms, last_error = excluded.last_error,
            last_error_at = excluded.last_error_at, redis_version = excluded.redis_version,
            used_memory = excluded.used_memory, maxmemory = excluded.maxmemory,
            maxmemory_policy = excluded.maxmemory_policy, connected_clients = excluded.connected_clients,
            rolled_at = excluded.rolled_at
          -- Two runs at once: the one that started last read the most, and an earlier one does not
          -- overwrite it. A finished hour whose figures did not change is left as it is (no dead row).
          where h.rolled_at <= excluded.rolled_at
            and (h.rolled_at < h.hour + interval '1 hour' + make_interval(mins => ${ROLLUP_GRACE_MINUTES})
                 or (h.kind, h.checks, h.errors, h.up, h.last_minute, h.latency_p50_ms, h.latency_p95_ms,
                     h.last_error, h.last_error_at, h.redis_version, h.used_memory, h.maxmemory,
                     h.maxmemory_policy, h.connected_clients)
                    is distinct from (excluded.kind, excluded.checks, excluded.errors, excluded.up,
                     excluded.last_minute, excluded.latency_p50_ms, excluded.latency_p95_ms,
                     excluded.last_error, excluded.last_error_at, excluded.redis_version,
                     excluded.used_memory, excluded.maxmemory, excluded.maxmemory_policy,
                     excluded.connected_clients))
          returning 1
        ), removed as (
          delete from watchtower_connection_health_hourly h using targets t
          where h.hour = t.hour
            and not exists (select 1 from agg a
                            where a.hour = h.hour and a.host_id = h.host_id and a.connection = h.connection)
          returning 1
        )
        select (select count(*) from targets)::int as hours, (select count(*) from upserted)::int as rows,
               (select count(*) from removed)::int as removed`),
    );
    const removed = Number(result?.removed ?? 0);
    return `${Number(result?.rows ?? 0)} rows written in ${Number(result?.hours ?? 0)} hours${
      removed > 0 ? `, ${removed} without minutes removed` : ''
    }`;
  },
};
