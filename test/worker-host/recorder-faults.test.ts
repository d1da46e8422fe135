import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../drizzle/migrate';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { watchQueues } from '../../worker-host/recorder/queue-watcher';
import { createRecorder, type RecorderOptions } from '../../worker-host/recorder/recorder';
import { testEnv } from '../setup/test-env';
import {
  countsFor,
  deleteRecorderRows,
  fillQueue,
  type PrivatePostgres,
  pollUntil,
  type RecorderChild,
  startPrivatePostgres,
  startPrivateRedis,
  startRecorderChild,
} from './fixtures/recorder-harness';

/**
 * Nothing is lost: a burst ends with exactly one completed record per job, and metrics to match,
 * through worker processes killed with SIGKILL and through a Postgres restart.
 */

const run = Math.random().toString(36).slice(2, 8);
const children: RecorderChild[] = [];
const queues: Queue[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  for (const queue of queues) {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  // The shared test database is long-lived: leave it as it was found.
  const client = new pg.Client({ connectionString: testEnv.databaseUrl });
  await client.connect();
  await deleteRecorderRows(client, `rec-%-${run}`);
  await client.end();
});

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The supervisor's side of a host for one queue `rec-<kind>-<run>`: a recorder and a queue watcher
 * writing to `databaseUrl`, the queue on `redisUrl`, and a pg pool to count what was recorded.
 */
function recordingHost(
  kind: string,
  options: {
    databaseUrl: string;
    redisUrl: string;
    recorder?: Partial<RecorderOptions>;
    privateRedis?: boolean;
  },
) {
  const queueName = `rec-${kind}-${run}`;
  const hostId = `${kind}-${run}`;
  const database = createNodeDatabase(options.databaseUrl);
  const client = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  client.on('error', () => undefined);
  cleanups.push(
    () => database.close(),
    () => client.end(),
  );
  const recorder = createRecorder({
    db: database.db,
    hostId,
    spoolDir: tempDir('wt-spool-'),
    ...options.recorder,
  });
  const watcher = watchQueues({
    db: database.db,
    connection: 'default',
    url: options.redisUrl,
    queues: [queueName],
    recorder,
    hostId,
    sweepIntervalMs: 1_000,
    settleMs: 1_000,
    overlapMs: 1_000,
  });
  const queue = new Queue(queueName, { connection: { url: options.redisUrl } });
  queue.on('error', () => undefined);
  // A private Redis is gone by afterAll: its queue is only closed, not obliterated.
  if (options.privateRedis) {
    cleanups.push(async () => {
      await queue.close();
    });
  } else {
    queues.push(queue);
  }
  return { queueName, client, recorder, watcher, queue };
}

describe('recorder under faults', () => {
  it('loses no record when worker processes are killed with SIGKILL mid-burst', async () => {
    const total = 8_000;
    const { queueName, client, recorder, watcher, queue } = recordingHost('kill', {
      databaseUrl: testEnv.databaseUrl,
      redisUrl: testEnv.redisUrl,
    });
    await fillQueue(queue, total, (i) => ({ i, sleepMs: 20 }));

    // Events are held for 2 s in each child, so a kill surely loses some: the sweep must find them.
    const spawn = () => {
      const child = startRecorderChild({
        queue: queueName,
        url: testEnv.redisUrl,
        concurrency: 20,
        stalledMs: 1_000,
        windowMs: 2_000,
        maxBatch: 1_000_000,
        onMessage: (m) => recorder.accept(m),
      });
      children.push(child);
      return child;
    };
    try {
      const first = spawn();
      const second = spawn();
      await Promise.all([first.ready, second.ready]);
      const completedInRedis = () => queue.getCompletedCount();
      await pollUntil(completedInRedis, (n) => n >= total * 0.25, 60_000, 50);
      await first.kill();
      spawn();
      await pollUntil(completedInRedis, (n) => n >= total * 0.6, 60_000, 50);
      await second.kill();
      spawn();

      const counts = await pollUntil(
        () => countsFor(client, queueName),
        (c) => c.completed === total && c.metricsCompleted === total && c.processing === 0,
        120_000,
        500,
      );
      expect(counts).toMatchObject({
        jobs: total,
        completed: total,
        processing: 0,
        failed: 0,
        completedAttempts: total,
        metricsCompleted: total,
        metricsQueued: total,
        metricsFailed: 0,
      });
      // The kills cost events in flight; the sweep found every one of those jobs in Redis.
      expect(watcher.stats().recovered).toBeGreaterThan(0);
      expect(recorder.stats().dropped).toBe(0);
      console.log(
        'kill test: recorder',
        JSON.stringify(recorder.stats()),
        'watcher',
        JSON.stringify(watcher.stats()),
      );
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      await watcher.close();
      await recorder.close();
    }
  }, 180_000);

  it('loses no record when Postgres restarts mid-burst (retrying, spilling and replaying)', async () => {
    const total = 10_000;
    let server: PrivatePostgres | undefined;
    try {
      server = await startPrivatePostgres();
    } catch (error) {
      throw new Error(
        `cannot start a private Postgres (initdb/pg_ctl as the postgres user): ${error instanceof Error ? error.message : error}`,
      );
    }
    cleanups.push(() => (server as PrivatePostgres).destroy());
    await migrateDatabase(server.url);
    const { queueName, client, recorder, watcher, queue } = recordingHost('pg', {
      databaseUrl: server.url,
      redisUrl: testEnv.redisUrl,
      // Small bounds, so that the outage overflows memory and the spool is used.
      recorder: { maxBufferedRows: 2_000, chunkRows: 1_000, retryInitialMs: 100, retryMaxMs: 500 },
    });
    await fillQueue(queue, total, (i) => ({ i, sleepMs: 10 }));
    try {
      for (let i = 0; i < 2; i++) {
        children.push(
          startRecorderChild({
            queue: queueName,
            url: testEnv.redisUrl,
            concurrency: 20,
            onMessage: (m) => recorder.accept(m),
          }),
        );
      }
      await Promise.all(children.slice(-2).map((c) => c.ready));
      await pollUntil(
        () => queue.getCompletedCount(),
        (n) => n >= total * 0.2,
        60_000,
        50,
      );
      await server.stop();
      // Jobs go on completing while Postgres is away.
      const before = await queue.getCompletedCount();
      await pollUntil(
        () => queue.getCompletedCount(),
        (n) => n >= before + total * 0.3,
        60_000,
        50,
      );
      await server.start();

      const counts = await pollUntil(
        () => countsFor(client, queueName).catch(() => undefined),
        (c) => c?.completed === total && c.metricsCompleted === total,
        120_000,
        500,
      );
      expect(counts).toMatchObject({
        jobs: total,
        completed: total,
        completedAttempts: total,
        metricsCompleted: total,
        metricsQueued: total,
      });
      const stats = recorder.stats();
      expect(stats.retries).toBeGreaterThan(0);
      expect(stats.spilled).toBeGreaterThan(0);
      expect(stats.dropped).toBe(0);
      console.log(
        'postgres test: recorder',
        JSON.stringify(stats),
        'watcher',
        JSON.stringify(watcher.stats()),
      );
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      await watcher.close();
      await recorder.close();
    }
  }, 180_000);

  it('loses no record when Redis restarts mid-burst', async () => {
    const total = 6_000;
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.destroy());
    const { queueName, client, recorder, watcher, queue } = recordingHost('redis', {
      databaseUrl: testEnv.databaseUrl,
      redisUrl: redis.url,
      privateRedis: true,
    });
    await fillQueue(queue, total, (i) => ({ i, sleepMs: 20 }));
    const group: RecorderChild[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const child = startRecorderChild({
          queue: queueName,
          url: redis.url,
          concurrency: 20,
          stalledMs: 1_000,
          onMessage: (m) => recorder.accept(m),
        });
        children.push(child);
        group.push(child);
      }
      await Promise.all(group.map((c) => c.ready));
      await pollUntil(
        () => queue.getCompletedCount(),
        (n) => n >= total * 0.25,
        60_000,
        50,
      );
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await redis.start();

      const counts = await pollUntil(
        () => countsFor(client, queueName),
        (c) => c.completed === total && c.metricsCompleted === total && c.processing === 0,
        120_000,
        500,
      );
      expect(counts).toMatchObject({
        jobs: total,
        completed: total,
        processing: 0,
        metricsCompleted: total,
        metricsQueued: total,
      });
      expect(recorder.stats().dropped).toBe(0);
      console.log(
        'redis test: recorder',
        JSON.stringify(recorder.stats()),
        'watcher',
        JSON.stringify(watcher.stats()),
      );
    } finally {
      await Promise.all(group.map((c) => c.stop()));
      await watcher.close();
      await recorder.close();
    }
  }, 180_000);
});
