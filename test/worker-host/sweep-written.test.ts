import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { watchQueues } from '../../worker-host/recorder/queue-watcher';
import { createRecorder } from '../../worker-host/recorder/recorder';
import { attachJobEvents } from '../../worker-host/recorder/worker-job-events';
import { testEnv } from '../setup/test-env';
import { countsFor, deleteRecorderRows, pollUntil } from './fixtures/recorder-harness';

/**
 * The sweep's safety net asks Postgres about finished jobs only when this host's recorder has not
 * written them itself: the jobs its own worker processes reported are known to be there, and asking
 * about each was an index probe per job in Postgres. Jobs whose events never reached the recorder
 * are still asked about, and recorded.
 */
const run = Math.random().toString(36).slice(2, 8);
const spoolDir = mkdtempSync(join(tmpdir(), 'wt-sweep-written-'));
const database = createNodeDatabase(testEnv.databaseUrl);
const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
const connection = { url: testEnv.redisUrl };

afterAll(async () => {
  await deleteRecorderRows(client, `sweep-written-%-${run}`);
  await database.close();
  await client.end();
  rmSync(spoolDir, { recursive: true, force: true });
});

async function drain(queue: Queue, worker: Worker, finished: number): Promise<void> {
  await pollUntil(
    async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()),
    (n) => n === finished,
    15_000,
    50,
  );
  await worker.close();
}

describe('the sweep and what this host wrote', () => {
  it('asks Postgres only about finishes the recorder did not write, and still records those', async () => {
    const queueName = `sweep-written-q-${run}`;
    const hostId = `sweep-written-${run}`;
    const queue = new Queue(queueName, { connection });
    const recorder = createRecorder({ db: database.db, hostId, spoolDir, flushIntervalMs: 50 });
    const watcher = watchQueues({
      db: database.db,
      connection: 'default',
      url: testEnv.redisUrl,
      queues: [queueName],
      recorder,
      hostId,
      waitingScan: 0,
      streamIntervalMs: 100,
      sweepIntervalMs: 60_000, // run by hand below
      settleMs: 300,
      overlapMs: 1_000,
    });
    try {
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );

      // 30 jobs run by a worker whose events reach this recorder, as a worker process's do: one
      // fails for good, so failed finishes are known too.
      await queue.addBulk([
        ...Array.from({ length: 29 }, (_, i) => ({ name: 'ours', data: { i } })),
        { name: 'ours-bad', data: { fail: true } },
      ]);
      const ours = new Worker(
        queueName,
        async (job) => {
          if (job.data.fail) throw new Error('ours failed');
          return job.data.i;
        },
        { connection, concurrency: 10 },
      );
      ours.on('error', () => undefined);
      const events = attachJobEvents(
        ours,
        { connection: 'default', queue: queueName, workerId: 'w-ours', hostId },
        (m) => recorder.accept(m),
      );
      await drain(queue, ours, 30);
      events.close();
      await recorder.flush();

      // 10 more run by a worker nobody records: only the sweep can find them.
      await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'theirs', data: { i } })));
      const theirs = new Worker(queueName, async () => 'theirs', { connection, concurrency: 10 });
      theirs.on('error', () => undefined);
      await drain(queue, theirs, 40);

      await new Promise((resolve) => setTimeout(resolve, 700)); // past settleMs and one stream read
      const [report] = await watcher.sweep();
      expect(watcher.stats().knownWritten).toBe(30);
      expect(report?.checked).toBe(10);
      expect(report?.missing).toBe(10);
      expect(watcher.stats().recovered).toBe(10);
      expect(await countsFor(client, queueName)).toMatchObject({
        jobs: 40,
        completed: 39,
        failed: 1,
        metricsCompleted: 39,
        metricsFailed: 1,
      });
      // The sweep's own findings are written by the recorder too: a second sweep over the same
      // window asks about nothing.
      const [again] = await watcher.sweep();
      expect(again?.checked).toBe(0);
      expect(await countsFor(client, queueName)).toMatchObject({ metricsCompleted: 39, metricsFailed: 1 });
    } finally {
      await watcher.close();
      await recorder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
