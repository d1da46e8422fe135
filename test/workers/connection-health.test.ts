import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { connectionHealth } from '../../drizzle/schema';
import type { HealthAnswer } from '../../functions/queries/connection-health';
import { bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { Seed } from './support/seed';

/**
 * GET /api/health/connections over rows this suite writes for hosts and connections of its own
 * (other suites' hosts write health rows meanwhile: every figure is read for this suite's names).
 */
let database: NeonDatabaseHandle;
let seed: Seed;
let viewer: string;
const hostA = unique('health-host-a');
const hostB = unique('health-host-b');
const hostDead = unique('health-host-dead');
const connUp = unique('health-up');
const connDown = unique('health-down');
const connLru = unique('health-lru');
const connGone = unique('health-gone');
const MINUTE = 60_000;
let base = 0;
const at = (minutesAgo: number) => new Date(base - minutesAgo * MINUTE);

type Row = typeof connectionHealth.$inferInsert;
const row = (hostId: string, connection: string, minutesAgo: number, fields: Partial<Row> = {}): Row => ({
  minute: at(minutesAgo),
  hostId,
  connection,
  kind: 'redis',
  checks: 2,
  errors: 0,
  up: true,
  latencyP50Ms: 1,
  latencyP95Ms: 2,
  redisVersion: '7.0.15',
  usedMemory: 1_000_000,
  maxmemory: 0,
  maxmemoryPolicy: 'noeviction',
  connectedClients: 5,
  ...fields,
});

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  viewer = (await createToken('viewer')).token;
  base = new Date(
    rowsOf<{ m: string }>(await database.db.execute(sql`select date_trunc('minute', now()) as m`))[0]?.m ?? 0,
  ).getTime();
  await seed.host({ hostId: hostA, connections: [connUp, connDown, connLru] });
  await seed.host({ hostId: hostB, connections: [connUp, connDown] });
  await seed.host({ hostId: hostDead, status: 'dead', lastHeartbeat: new Date(Date.now() - 30 * MINUTE) });
  await database.db.insert(connectionHealth).values([
    row(hostA, connUp, 0, { latencyP50Ms: 1, latencyP95Ms: 4 }),
    row(hostB, connUp, 0, { latencyP50Ms: 3, latencyP95Ms: 8 }),
    row(hostA, connUp, 5, { latencyP50Ms: 2, latencyP95Ms: 2 }),
    // Outside the hour, inside 24 h.
    row(hostA, connUp, 180, { latencyP50Ms: 9, latencyP95Ms: 9, checks: 3 }),
    // Down for host A in its last check, up for host B: down.
    row(hostA, connDown, 1),
    row(hostA, connDown, 0, {
      up: false,
      errors: 2,
      latencyP50Ms: null,
      latencyP95Ms: null,
      lastError: 'connect ECONNREFUSED 127.0.0.1:6390',
      redisVersion: null,
      usedMemory: null,
      maxmemory: null,
      maxmemoryPolicy: null,
      connectedClients: null,
    }),
    row(hostB, connDown, 0),
    row(hostA, connLru, 0, { maxmemoryPolicy: 'allkeys-lru', maxmemory: 64_000_000, usedMemory: 3_000_000 }),
    // Host B checked it once, then a reload took it out of its configuration: its old down row
    // says nothing about now.
    row(hostB, connLru, 3, { up: false, errors: 2, lastError: 'connect ETIMEDOUT' }),
    // Only a dead host checked it: nothing says how it is now.
    row(hostDead, connGone, 40),
  ]);
});

afterAll(async () => {
  await database.db
    .delete(connectionHealth)
    .where(inArray(connectionHealth.hostId, [hostA, hostB, hostDead]));
  await seed.cleanup();
  await database.close();
});

async function health(range?: string): Promise<HealthAnswer> {
  const response = await call(`/api/health/connections${range ? `?range=${range}` : ''}`, {
    headers: bearer(viewer),
  });
  expect(response.status).toBe(200);
  return response.json<HealthAnswer>();
}

const find = (answer: HealthAnswer, name: string) => {
  const connection = answer.connections.find((c) => c.name === name);
  if (!connection) throw new Error(`${name} is not in the answer`);
  return connection;
};

describe('GET /api/health/connections', () => {
  it('needs credentials, and says what is wrong with a bad range', async () => {
    expect((await call('/api/health/connections')).status).toBe(401);
    const bad = await call('/api/health/connections?range=2d', { headers: bearer(viewer) });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain('range');
    // The public liveness check is still there, and still public.
    expect((await call('/api/health')).status).toBe(200);
  });

  it("gives each connection's state now from every live host's newest check", async () => {
    const answer = await health();
    expect(answer).toMatchObject({ range: '1h', step: 'minute' });
    expect(find(answer, connUp).state).toBe('up');
    const down = find(answer, connDown);
    expect(down).toMatchObject({
      state: 'down',
      lastError: 'connect ECONNREFUSED 127.0.0.1:6390',
      lastErrorAt: at(0).toISOString(),
      checks: 6,
      errors: 2,
      // INFO's figures from the newest check that read them (host B's).
      redisVersion: '7.0.15',
      noeviction: true,
    });
    expect(down.hosts.map((h) => [h.hostId, h.up]).sort()).toEqual(
      [
        [hostA, false],
        [hostB, true],
      ].sort(),
    );
    expect(find(answer, connGone)).toMatchObject({
      state: 'unknown',
      hosts: [{ hostId: hostDead, hostStatus: 'dead' }],
    });
    // Down first.
    const names = answer.connections.map((c) => c.name);
    expect(names.indexOf(connDown)).toBeLessThan(names.indexOf(connUp));
  });

  it('says when Redis may evict BullMQ keys, with its memory', async () => {
    expect(find(await health(), connLru)).toMatchObject({
      state: 'up',
      lastError: 'connect ETIMEDOUT',
      noeviction: false,
      maxmemoryPolicy: 'allkeys-lru',
      maxmemoryBytes: 64_000_000,
      usedMemoryBytes: 3_000_000,
      connectedClients: 5,
    });
  });

  it('gives latency p50/p95 per minute for 1h and per hour for 24h and 7d', async () => {
    const hour = await health('1h');
    const up = find(hour, connUp);
    expect(up.series).toHaveLength(60);
    expect(up.checks).toBe(6);
    const now = up.series.find((p) => p.at === at(0).toISOString());
    // Two hosts' minutes: the median of their p50s, the 95th percentile of their p95s.
    expect(now).toMatchObject({ checks: 4, errors: 0, p50Ms: 2 });
    expect(now?.p95Ms).toBeCloseTo(7.8, 5);
    expect(up.series.find((p) => p.at === at(1).toISOString())).toMatchObject({ checks: 0, p50Ms: null });

    const day = await health('24h');
    expect(day.step).toBe('hour');
    const upDay = find(day, connUp);
    expect(upDay.series).toHaveLength(24);
    expect(upDay.checks).toBe(9);
    const threeHoursAgo = new Date(at(180).getTime() - (at(180).getTime() % 3_600_000)).toISOString();
    expect(upDay.series.find((p) => p.at === threeHoursAgo)).toMatchObject({ checks: 3, p50Ms: 9, p95Ms: 9 });
    expect(find(await health('7d'), connUp).series).toHaveLength(168);
  });

  it('lists the hosts heard from in the range with their heartbeat and status', async () => {
    const answer = await health();
    const mine = answer.hosts.filter((h) => [hostA, hostB, hostDead].includes(h.hostId));
    expect(mine.map((h) => [h.hostId, h.status]).sort()).toEqual(
      [
        [hostA, 'running'],
        [hostB, 'running'],
        [hostDead, 'dead'],
      ].sort(),
    );
    expect(mine.find((h) => h.hostId === hostDead)?.heartbeatAgeSeconds).toBeGreaterThan(1700);
  });
});
