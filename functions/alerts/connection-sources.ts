import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { numOrNull, query } from '../queries/sql';
import { type Observation, param, type RuleToObserve, type RunReads, scopeKey, shown } from './observation';

/**
 * connection_down, connection_slow and maxmemory_policy, from the health rows hosts write with
 * their heartbeats (watchtower_connection_health), read as GET /api/health/connections reads them:
 * a connection's state is the newest check of each live host that still has it in its
 * configuration, down as soon as one of them saw it down.
 */

interface Row {
  connection: string;
  host_id: string;
  hostname: string;
  up: boolean;
  latency_p95_ms: number | string | null;
  last_error: string | null;
  maxmemory_policy: string | null;
  labels: unknown;
}

// A host checks every few seconds and writes its minute's row with each heartbeat: a row older
// than this is from a host that has stopped checking, which host_down is for.
const FRESH_MINUTES = 5;

async function latestChecks(db: StatementDatabase): Promise<Row[]> {
  return query<Row>(
    db,
    sql`with latest as (
          select distinct on (c.host_id, c.connection) c.*
          from watchtower_connection_health c
          where c.minute >= date_trunc('minute', now()) - make_interval(mins => ${FRESH_MINUTES})
          order by c.host_id, c.connection, c.minute desc
        )
        select l.connection, l.host_id, h.hostname, l.up, l.latency_p95_ms, l.last_error, l.maxmemory_policy,
               h.stats->'configuration'->'labels' as labels
        from latest l join watchtower_hosts h on h.host_id = l.host_id
        where h.status <> 'dead' and h.status <> 'stopped' and coalesce(h.connections ? l.connection, false)
        order by l.connection, l.minute desc, l.host_id`,
  );
}

function labelsOf(row: Row): string[] {
  return Array.isArray(row.labels) ? row.labels.filter((label) => typeof label === 'string') : [];
}

function inScope(rule: RuleToObserve, row: Row): boolean {
  const { scope } = rule;
  switch (scope.type) {
    case 'all':
      return true;
    case 'connection':
      return scope.connection === row.connection;
    case 'host':
      return labelsOf(row).includes(scope.label);
    case 'queue':
      return false;
  }
}

export async function observeConnections(
  db: StatementDatabase,
  rule: RuleToObserve,
  reads: RunReads,
): Promise<Observation[]> {
  const byName = new Map<string, Row[]>();
  for (const row of await reads.once('connection checks', () => latestChecks(db))) {
    if (!inScope(rule, row)) continue;
    const list = byName.get(row.connection) ?? [];
    list.push(row);
    byName.set(row.connection, list);
  }
  const observations: Observation[] = [];
  for (const [name, rows] of byName) {
    const scopes = [
      'all',
      scopeKey({ type: 'connection', connection: name }),
      ...new Set(rows.flatMap((row) => labelsOf(row).map((label) => scopeKey({ type: 'host', label })))),
    ];
    const observation = observeOne(rule, name, rows);
    if (observation) observations.push({ subject: name, scopes, ...observation });
  }
  return observations;
}

function observeOne(
  rule: RuleToObserve,
  name: string,
  rows: Row[],
): Pick<Observation, 'bad' | 'value' | 'message'> | null {
  switch (rule.kind) {
    case 'connection_down': {
      const down = rows.filter((row) => !row.up);
      const first = down[0];
      return {
        bad: down.length > 0,
        value: down.length,
        message: first
          ? `Connection ${name} is down from ${down.length} of ${rows.length} hosts (${first.hostname}: ${first.last_error ?? 'no answer'})`
          : `Connection ${name} is up from all ${rows.length} hosts checking it`,
      };
    }
    case 'connection_slow': {
      const limit = param(rule, 'p95Ms');
      const p95s = rows.map((row) => numOrNull(row.latency_p95_ms)).filter((value) => value !== null);
      if (p95s.length === 0) return null;
      const worst = Math.max(...p95s);
      return {
        bad: worst > limit,
        value: worst,
        message: `Connection ${name}: round-trip p95 ${shown(worst)} ms (threshold ${limit} ms)`,
      };
    }
    case 'maxmemory_policy': {
      // The newest check that read INFO says the policy (null on Postgres and on a failed INFO).
      const policy = rows.find((row) => row.maxmemory_policy !== null)?.maxmemory_policy ?? null;
      if (policy === null) return null;
      return {
        bad: policy !== 'noeviction',
        value: null,
        message:
          policy === 'noeviction'
            ? `Connection ${name}: maxmemory-policy is noeviction`
            : `Connection ${name}: maxmemory-policy is ${policy}, not noeviction: Redis may evict queue keys`,
      };
    }
    default:
      throw new Error(`${rule.kind} is not a connection rule`);
  }
}
