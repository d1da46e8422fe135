import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { watchQueues } from '../../worker-host/recorder/queue-watcher';
import { createRecorder } from '../../worker-host/recorder/recorder';
import { testEnv } from '../setup/test-env';
import { deleteRecorderRows, pollUntil } from './fixtures/recorder-harness';

/**
 * The queue watcher records a job an add announced as `queued` only while it waits. On a queue that
 * producers feed while workers keep up, nearly every such job has run, or at least started, by the
 * time the add is read: those are not read back from Redis at all (measured with a producer
 * feeding ~2,800 jobs/s under `bench:shipped`'s setup, the supervisor's CPU per 1,000 jobs went
 * from 36–42 ms to 15 ms, Postgres's from 51 to 43), and get no `queued` row that the worker
 * process's write would overwrite a moment later.
 */
const run = Math.random().toString(36).slice(2, 8);
const spoolDir = mkdtempSync(join(tmpdir(), 'wt-watcher-adds-'));
const database = createNodeDatabase(testEnv.databaseUrl);
const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
const connection = { url: testEnv.redisUrl };

afterAll(async () => {
  await deleteRecorderRows(client, `watcher-adds-%-${run}`);
  await database.close();
  await client.end();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('the queue watcher and the adds it reads', () => {
  it('reads back only jobs still waiting: not those that ran, nor those running', async () => {
    const queueName = `watcher-adds-q-${run}`;
    const hostId = `watcher-adds-${run}`;
    const queue = new Queue(queueName, { connection });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Another worker, whose events never reach this recorder: only Redis knows what it did.
    const worker = new Worker(
      queueName,
      async (job) => {
        if (job.name === 'long') await held;
        return 1;
      },
      { connection, concurrency: 3 },
    );
    worker.on('error', () => undefined);
    const recorder = createRecorder({ db: database.db, hostId, spoolDir, flushIntervalMs: 50 });
    let watcher: ReturnType<typeof watchQueues> | undefined;
    try {
      // Four jobs ran, and Redis removed them: only the stream's finish says they ran.
      await queue.addBulk(
        Array.from({ length: 4 }, (_, i) => ({
          name: 'done',
          data: { i },
          opts: { removeOnComplete: true },
        })),
      );
      await pollUntil(
        async () => (await queue.getJobCounts('waiting', 'active')) as Record<string, number>,
        (counts) => counts.waiting === 0 && counts.active === 0,
        10_000,
        20,
      );
      // Three run now and hold the worker's three slots; two more wait behind them.
      await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'long', data: { i } })));
      await pollUntil(
        async () => queue.getActiveCount(),
        (n) => n === 3,
        10_000,
        20,
      );
      const waiting = await queue.addBulk(
        Array.from({ length: 2 }, (_, i) => ({ name: 'wait', data: { i } })),
      );

      // The watcher reads all of it from the stream's start, as a host resuming from its cursor.
      await client.query(
        `insert into watchtower_recorder_cursors (connection, queue, last_event_id) values ('default', $1, '0-0')`,
        [queueName],
      );
      watcher = watchQueues({
        db: database.db,
        connection: 'default',
        url: testEnv.redisUrl,
        queues: [queueName],
        recorder,
        hostId,
        waitingScan: 0,
        streamIntervalMs: 100,
        sweepIntervalMs: 60_000,
      });
      const active = watcher;
      await pollUntil(
        async () => active.stats().added,
        (n) => n === 2,
        10_000,
        20,
      );
      await recorder.flush();
      const { rows } = await client.query<{ job_id: string; status: string }>(
        'select job_id, status from watchtower_jobs where queue = $1 order by job_id',
        [queueName],
      );
      const waitingIds = waiting.map((job) => String(job.id)).sort();
      expect(rows).toEqual(waitingIds.map((id) => ({ job_id: id, status: 'queued' })));
      // Only the two waiting jobs were read back: not the four that ran (their finishes were on the
      // stream), nor the three running (Redis said they had started).
      expect(active.stats().addsReadBack).toBe(2);
    } finally {
      release();
      await worker.close();
      await watcher?.close();
      await recorder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
