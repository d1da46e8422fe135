import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { JobStats } from '../../functions/queries/job-stats';
import type { MetricsSeries } from '../../functions/queries/metrics';
import { adminHeaders, bearer, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { Seed } from './support/seed';

type Metrics = MetricsSeries & { stats: JobStats };

let database: NeonDatabaseHandle;
let seed: Seed;
const queue = unique('metrics-q');
const connection = unique('metrics-conn');

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  const at = { connection, queue };
  await seed.metrics([
    {
      ...at,
      minutesAgo: 0,
      queued: 5,
      completed: 3,
      failed: 1,
      runMsSum: 400,
      runMsMax: 200,
      waitMsSum: 80,
      waitMsMax: 50,
      depth: 7,
    },
    {
      ...at,
      minutesAgo: 3,
      queued: 5,
      completed: 4,
      failed: 0,
      runMsSum: 400,
      runMsMax: 150,
      waitMsSum: 80,
      waitMsMax: 30,
      depth: 9,
    },
    {
      ...at,
      minutesAgo: 180,
      queued: 2,
      completed: 2,
      failed: 0,
      runMsSum: 200,
      runMsMax: 100,
      waitMsSum: 40,
      waitMsMax: 20,
    },
    // Older than a day: in no figure.
    { ...at, minutesAgo: 26 * 60, queued: 900, completed: 900, failed: 900, runMsSum: 1, waitMsSum: 1 },
  ]);
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function metrics(): Promise<Metrics> {
  const response = await call('/api/metrics', { headers: adminHeaders() });
  expect(response.status).toBe(200);
  return response.json<Metrics>();
}

describe('GET /api/metrics', () => {
  it('computes per-queue durations, wait time and failure rate over 24 hours from the rollups', async () => {
    const body = await metrics();
    expect(body.queues.find((q) => q.queue === queue)).toEqual({
      connection,
      queue,
      completed: 9,
      failed: 1,
      avgRunMs: 100,
      maxRunMs: 200,
      avgWaitMs: 20,
      maxWaitMs: 50,
      failureRate: 0.1,
    });
    expect(body.queueDepths.find((q) => q.queue === queue)).toMatchObject({ connection, depth: 7 });
    expect(body.failureRate === null || (body.failureRate >= 0 && body.failureRate <= 1)).toBe(true);
    expect(body.waitTime.maxMs).toBeGreaterThanOrEqual(50);
  });

  it('gives 24 hourly and 10 per-minute points, oldest first, with this minute and hour included', async () => {
    const body = await metrics();
    expect(body.hourlyThroughput).toHaveLength(24);
    expect(body.minuteThroughput).toHaveLength(10);
    const hours = body.hourlyThroughput.map((point) => Date.parse(point.hour));
    expect(hours.every((hour, i) => i === 0 || hour - hours[i - 1]! === 3_600_000)).toBe(true);
    expect(body.minuteThroughput.at(-1)!.completed).toBeGreaterThanOrEqual(3);
    expect(body.hourlyThroughput.reduce((sum, point) => sum + point.completed, 0)).toBeGreaterThanOrEqual(9);
    expect(Date.now() - Date.parse(body.minuteThroughput.at(-1)!.minute)).toBeLessThan(120_000);
  });

  it('includes the stats and the worker stats, and is readable by a viewer', async () => {
    const viewer = await createToken('viewer');
    const response = await call('/api/metrics', { headers: bearer(viewer.token) });
    expect(response.status).toBe(200);
    const body = await response.json<Metrics>();
    expect(body.stats.completed_last_hour).toBeGreaterThanOrEqual(7);
    expect(Object.keys(body.workers).sort()).toEqual([
      'byStatus',
      'hosts',
      'jobsFailed',
      'jobsProcessed',
      'memoryBytes',
      'total',
    ]);
    expect((await call('/api/metrics')).status).toBe(401);
    expect((await call('/api/metrics?x=1', { headers: adminHeaders() })).status).toBe(200);
  });
});
