import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { percentile, rollup } from '../../worker-host/health/health-rollup';
import { errorText, type HealthSample } from '../../worker-host/health/health-sample';
import { testEnv } from '../setup/test-env';
import { type PrivateRedis, startPrivateRedis } from './fixtures/recorder-harness';
import {
  type HostProcess,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

const execFileAsync = promisify(execFile);

describe('connection health: pieces', () => {
  it('takes credentials out of an error, and keeps it to one short line', () => {
    const url = 'redis://user:s3cret%21pw@cache.internal:6380/0';
    const text = errorText(
      new Error(
        `connect to redis://user:s3cret!pw@cache.internal:6380 failed:\nECONNREFUSED ${url} s3cret!pw`,
      ),
      url,
    );
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('\n');
    expect(text).toContain('ECONNREFUSED');
    expect(errorText(new Error('x'.repeat(5000)), url).length).toBeLessThanOrEqual(300);
    expect(errorText(new Error('bad \u0000 byte'), url)).not.toContain('\u0000');
  });

  it('rolls samples up per minute: last result, errors, nearest-rank percentiles', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
    expect(percentile([], 50)).toBeNull();
    const minute = Date.UTC(2026, 0, 1, 12, 0);
    const sample = (at: number, up: boolean, latencyMs: number | null): HealthSample => ({
      connection: 'main',
      kind: 'redis',
      at,
      up,
      latencyMs,
      error: up ? null : `refused at ${at}`,
      redis: up ? { version: '7.0.0', usedMemory: 10, maxmemory: 0, policy: 'noeviction', clients: 3 } : null,
    });
    const rows = rollup([
      sample(minute + 1_000, true, 1),
      sample(minute + 31_000, false, null),
      sample(minute + 61_000, true, 4),
    ]);
    expect(rows).toHaveLength(2);
    const first = rows.find((row) => row.minute === new Date(minute).toISOString());
    expect(first).toMatchObject({
      checks: 2,
      errors: 1,
      up: false,
      latencyP50Ms: 1,
      latencyP95Ms: 1,
      lastError: `refused at ${minute + 31_000}`,
      maxmemoryPolicy: 'noeviction',
    });
  });
});

/**
 * A host checks each connection of its configuration: a Redis of the test's own, stopped and
 * started again, and BullMQ's Postgres backend (the test database). Rows come with the heartbeat.
 */
describe('connection health: a running host', () => {
  const database = openTestDatabase();
  const scratch = scratchDir();
  let spare: PrivateRedis;
  let host: HostProcess;
  const queue = uniqueName('health-q');

  beforeAll(async () => {
    spare = await startPrivateRedis();
    // BullMQ needs noeviction; this server says otherwise, and the host must notice.
    await execFileAsync('redis-cli', ['-u', spare.url, 'config', 'set', 'maxmemory-policy', 'allkeys-lru']);
    const config = writeConfig(
      scratch.dir,
      [{ name: uniqueName('health-sup'), queues: [queue] }],
      { healthInterval: 0.5 },
      { connections: { spare: { url: spare.url }, pgqueues: { url: testEnv.databaseUrl } } },
    );
    host = await startHost(config, database.db);
  });

  afterAll(async () => {
    await killAllHosts();
    await spare?.destroy();
    await database.close();
    scratch.cleanup();
  });

  interface Row {
    minute: string;
    kind: string;
    checks: number;
    errors: number;
    up: boolean;
    latency_p50_ms: number | null;
    latency_p95_ms: number | null;
    last_error: string | null;
    redis_version: string | null;
    used_memory: string | null;
    maxmemory_policy: string | null;
    connected_clients: number | null;
  }
  const newest = async (connection: string): Promise<Row | undefined> =>
    rowsOf<Row>(
      await database.db.execute(sql`
        select minute, kind, checks, errors, up, latency_p50_ms, latency_p95_ms, last_error, redis_version,
               used_memory, maxmemory_policy, connected_clients
        from watchtower_connection_health
        where host_id = ${host.hostId} and connection = ${connection}
        order by minute desc limit 1`),
    )[0];

  it('records each connection up, with its round trip and what INFO says', async () => {
    const spareRow = await waitFor(
      async () => {
        const row = await newest('spare');
        return row?.up && row.latency_p50_ms !== null ? row : undefined;
      },
      20_000,
      'an up row for the spare Redis',
    );
    expect(spareRow.kind).toBe('redis');
    expect(spareRow.latency_p95_ms).toBeGreaterThanOrEqual(spareRow.latency_p50_ms ?? 0);
    expect(spareRow.redis_version).toMatch(/^\d+\.\d+/);
    expect(Number(spareRow.used_memory)).toBeGreaterThan(0);
    expect(spareRow.connected_clients).toBeGreaterThanOrEqual(1);
    // Recorded as not noeviction, and said loudly once (not at every check).
    expect(spareRow.maxmemory_policy).toBe('allkeys-lru');
    await waitFor(async () => ((await newest('spare'))?.checks ?? 0) >= 2, 20_000, 'a second check');
    expect(host.output.match(/maxmemory-policy is "allkeys-lru", not "noeviction"/g)).toHaveLength(1);

    const pgRow = await waitFor(
      async () => {
        const row = await newest('pgqueues');
        return row?.up ? row : undefined;
      },
      20_000,
      'an up row for the Postgres backend',
    );
    expect(pgRow.kind).toBe('postgres');
    expect(pgRow.latency_p50_ms).toBeGreaterThan(0);
    expect(pgRow.maxmemory_policy).toBeNull();

    const shared = await waitFor(async () => (await newest('default'))?.up, 20_000, 'the shared Redis up');
    expect(shared).toBe(true);
  });

  it('records a stopped Redis as down with its error, and up again once it is back', async () => {
    await spare.stop();
    const down = await waitFor(
      async () => {
        const row = await newest('spare');
        // The check that meets the shutdown itself may read "Connection is closed."; the ones
        // after it must say what connecting finds (the socket's own error).
        return row && !row.up && /ECONNREFUSED/.test(row.last_error ?? '') ? row : undefined;
      },
      20_000,
      'a down row for the stopped Redis, with the refused connection as its error',
    );
    expect(down.errors).toBeGreaterThanOrEqual(1);
    // The other connections are not dragged down with it.
    expect((await newest('pgqueues'))?.up).toBe(true);

    await spare.start();
    const up = await waitFor(
      async () => {
        const row = await newest('spare');
        return row?.up ? row : undefined;
      },
      20_000,
      'an up row once the Redis is back',
    );
    expect(up.latency_p50_ms).not.toBeNull();
    // A fresh server has Redis's default policy.
    expect(up.maxmemory_policy).toBe('noeviction');
    expect(host.running).toBe(true);
  });
});

describe('connection health: the monitor keeps what no beat wrote', () => {
  it('hands the same rows to the next beat until one is written, then only new minutes', async () => {
    const { ConnectionHealth } = await import('../../worker-host/health/connection-health');
    const lines: string[] = [];
    const monitor = new ConnectionHealth({
      connections: { main: { url: testEnv.redisUrl } },
      intervalSeconds: 3600,
      log: (line) => lines.push(line),
    });
    try {
      monitor.tick(Date.now());
      await waitFor(() => monitor.stats().checks === 1, 10_000, 'the first check');
      const failed = monitor.take();
      expect(failed.rows).toHaveLength(1);
      expect(failed.rows[0]).toMatchObject({ connection: 'main', checks: 1, up: true });
      // That beat failed (written() never called): the next one carries the row again.
      const next = monitor.take();
      expect(next.rows).toEqual(failed.rows);
      next.written();
      expect(monitor.take().rows).toEqual([]);
      // The shared Redis is noeviction: nothing to warn about.
      expect(lines).toEqual([]);
    } finally {
      await monitor.close();
    }
  });
});
