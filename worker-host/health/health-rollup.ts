import type { HealthSample } from './health-sample';

/** One row of watchtower_connection_health: a connection's checks by one host in one minute. */
export interface ConnectionHealthRow {
  /** The minute, ISO 8601 (UTC), from the host's clock. */
  minute: string;
  connection: string;
  kind: 'redis' | 'postgres';
  checks: number;
  errors: number;
  up: boolean;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  lastError: string | null;
  redisVersion: string | null;
  usedMemory: number | null;
  maxmemory: number | null;
  maxmemoryPolicy: string | null;
  connectedClients: number | null;
}

export function minuteOf(at: number): number {
  return at - (at % 60_000);
}

/** The nearest-rank percentile of sorted values (p in 0..100): always one of the samples. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/**
 * Rows for every (minute, connection) among the samples, each computed from all that minute's
 * samples: a row replaces the one written before it, it never adds to it.
 */
export function rollup(samples: readonly HealthSample[]): ConnectionHealthRow[] {
  const groups = new Map<string, HealthSample[]>();
  for (const sample of samples) {
    const key = `${minuteOf(sample.at)}\u0000${sample.connection}`;
    const group = groups.get(key);
    if (group) group.push(sample);
    else groups.set(key, [sample]);
  }
  const rows: ConnectionHealthRow[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.at - b.at);
    const last = group[group.length - 1] as HealthSample;
    const latencies = group
      .map((sample) => sample.latencyMs)
      .filter((value): value is number => value !== null)
      .sort((a, b) => a - b);
    const failed = group.filter((sample) => !sample.up);
    const facts = group.findLast((sample) => sample.redis !== null)?.redis ?? null;
    rows.push({
      minute: new Date(minuteOf(last.at)).toISOString(),
      connection: last.connection,
      kind: last.kind,
      checks: group.length,
      errors: failed.length,
      up: last.up,
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      lastError: failed[failed.length - 1]?.error ?? null,
      redisVersion: facts?.version ?? null,
      usedMemory: facts?.usedMemory ?? null,
      maxmemory: facts?.maxmemory ?? null,
      maxmemoryPolicy: facts?.policy ?? null,
      connectedClients: facts?.clients ?? null,
    });
  }
  return rows;
}
