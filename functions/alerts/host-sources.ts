import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import type { HostStatus } from '../queries/hosts';
import { num, query } from '../queries/sql';
import { type Observation, param, type RuleToObserve, type RunReads, scopeKey, shown } from './observation';

/**
 * host_down and crash_loop, from what hosts write with their heartbeats (watchtower_hosts,
 * watchtower_workers): no request reaches a host.
 */

interface HostRow {
  host_id: string;
  hostname: string;
  status: HostStatus;
  age: number | string;
  labels: unknown;
  restarts: number | string | null;
}

// A machine not heard from for a day is no longer watched (its rows are pruned after
// WATCHTOWER_RETENTION_HOSTS_DAYS anyway); a firing alert on it then resolves as gone.
async function recentHosts(db: StatementDatabase): Promise<HostRow[]> {
  return query<HostRow>(
    db,
    sql`select h.host_id, h.hostname, h.status,
               extract(epoch from now() - h.last_heartbeat) as age,
               h.stats->'configuration'->'labels' as labels,
               (select sum(w.restarts) from watchtower_workers w where w.host_id = h.host_id) as restarts
        from watchtower_hosts h
        where h.last_heartbeat > now() - interval '1 day'
        order by h.last_heartbeat desc, h.host_id
        limit 2000`,
  );
}

function labelsOf(row: HostRow): string[] {
  return Array.isArray(row.labels) ? row.labels.filter((label) => typeof label === 'string') : [];
}

function inScope(rule: RuleToObserve, row: HostRow): boolean {
  return (
    rule.scope.type === 'all' || (rule.scope.type === 'host' && labelsOf(row).includes(rule.scope.label))
  );
}

function hostScopes(row: HostRow): string[] {
  return ['all', ...labelsOf(row).map((label) => scopeKey({ type: 'host', label }))];
}

/**
 * Per machine (hostname): a host restarted on it gets a new host id, and "a host is back" is what
 * resolves the alert. The newest host of each machine decides: down when it stopped beating for
 * longer than `seconds` without saying it stopped (a clean stop is `stopped`, not down).
 */
export async function observeHostDown(
  db: StatementDatabase,
  rule: RuleToObserve,
  reads: RunReads,
): Promise<Observation[]> {
  const seconds = param(rule, 'seconds');
  const newest = new Map<string, HostRow>();
  for (const row of await reads.once('hosts', () => recentHosts(db))) {
    if (inScope(rule, row) && !newest.has(row.hostname)) newest.set(row.hostname, row);
  }
  return [...newest.values()].map((row) => {
    const age = num(row.age);
    const bad = row.status !== 'stopped' && age > seconds;
    return {
      subject: row.hostname,
      bad,
      value: Math.round(age),
      message: bad
        ? `Host ${row.hostname} (${row.host_id}) has sent no heartbeat for ${Math.round(age)} s (threshold ${seconds} s)`
        : `Host ${row.hostname} (${row.host_id}) is ${row.status}, last heartbeat ${Math.round(age)} s ago`,
      scopes: hostScopes(row),
    };
  });
}

/** crash_loop's memory: the host's total worker restarts as seen at each evaluation. */
type RestartSamples = [atMs: number, total: number][];

function samplesOf(memory: unknown): RestartSamples {
  if (!Array.isArray(memory)) return [];
  return memory.filter(
    (sample): sample is [number, number] =>
      Array.isArray(sample) && typeof sample[0] === 'number' && typeof sample[1] === 'number',
  );
}

/**
 * Hosts record a cumulative count of restarts per worker process (watchtower_workers.restarts:
 * crashes, memory restarts, restart commands), not when each happened. So each evaluation keeps
 * the host's total with its time, and the restarts "in the last M minutes" are the total now less
 * the oldest total kept within those minutes. Per live host id (a new host starts from zero).
 */
export async function observeCrashLoop(
  db: StatementDatabase,
  rule: RuleToObserve,
  reads: RunReads,
  memoryOf: (subject: string) => unknown,
  now: number,
): Promise<Observation[]> {
  const limit = param(rule, 'restarts');
  const minutes = param(rule, 'minutes');
  const since = now - minutes * 60_000;
  const observations: Observation[] = [];
  for (const row of await reads.once('hosts', () => recentHosts(db))) {
    if (!inScope(rule, row) || row.status === 'dead' || row.status === 'stopped') continue;
    const total = num(row.restarts);
    const kept = samplesOf(memoryOf(row.host_id)).filter(([at, count]) => at >= since && count <= total);
    const base = kept[0]?.[1] ?? total;
    const recent = total - base;
    const bad = recent > limit;
    observations.push({
      subject: row.host_id,
      bad,
      value: recent,
      message: `Host ${row.hostname} (${row.host_id}): ${shown(recent)} worker process restarts in the last ${minutes} min (threshold: more than ${limit})`,
      scopes: hostScopes(row),
      memory: [...kept, [now, total]].slice(-200),
    });
  }
  return observations;
}
