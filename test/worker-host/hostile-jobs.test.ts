import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { watchQueues } from '../../worker-host/recorder/queue-watcher';
import { createRecorder, type Recorder } from '../../worker-host/recorder/recorder';
import { MAX_PAYLOAD_DEPTH } from '../../worker-host/recorder/storable';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  hostRow,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

/**
 * Recorded data is input too. A real host (its supervisor, a real worker process, its queue
 * watcher) runs hostile jobs among ordinary ones: every one of them must reach Postgres, cleaned or
 * capped and flagged, and none may hold back the ordinary jobs.
 */

interface Row {
  job_id: string;
  name: string;
  status: string;
  payload: unknown;
  payload_truncated: boolean;
  sanitized: boolean;
  data_size: number;
  exception: string | null;
}

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

describe('hostile jobs through a real host', () => {
  const database = openTestDatabase();
  const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
  const scratch = scratchDir();
  const queueName = uniqueName('hostile');
  const queue = testQueue(queueName);
  let hostId = '';

  afterAll(async () => {
    await killAllHosts();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (const table of ['watchtower_job_attempts', 'watchtower_jobs', 'watchtower_metrics']) {
      await client.query(`delete from ${table} where queue = $1`, [queueName]);
    }
    await client.query('delete from watchtower_recorder_dead_letters where queue = $1', [queueName]);
    await client.end();
    await database.close();
    scratch.cleanup();
  });

  it('records every hostile job, cleaned or capped and flagged, and the 500 ordinary jobs behind them', async () => {
    let deep: unknown = { leaf: true };
    for (let i = 0; i < 2_000; i++) deep = { d: deep };
    const fiveMegabytes = 'x'.repeat(5 * 1024 * 1024);
    const ansi = '\u001b[31mred\u001b[0m \u001b[2J\u0007';
    const hostile = [
      { name: 'nul-data', data: { text: 'a\u0000b' } },
      { name: 'nul\u0000name', data: { label: 'nul-name' } },
      { name: 'lone-surrogate', data: { text: 'x\ud800y' } },
      { name: 'nul-exception', data: { failWith: 'broke\u0000here' } },
      { name: 'deep', data: deep },
      { name: 'five-megabytes', data: { text: fiveMegabytes } },
      { name: '\u001b[1mansi', data: { text: ansi } },
      // BullMQ takes a NUL in a custom job id; the row keeps the id cleaned.
      { name: 'nul-id', data: { label: 'nul-id' }, opts: { jobId: 'nul\u0000id' } },
      // A return value JSON cannot hold: BullMQ fails the job with the reason, which is recorded.
      { name: 'bigint-result', data: { returns: 'bigint' } },
      { name: 'circular-result', data: { returns: 'circular' } },
    ];
    const ordinary = Array.from({ length: 500 }, (_, i) => ({ name: 'ordinary', data: { i } }));
    // Hostile first: every ordinary job is queued behind them.
    await queue.addBulk(hostile);
    await queue.addBulk(ordinary);
    const total = hostile.length + ordinary.length;

    const config = writeConfig(scratch.dir, [
      { name: 'hostile', queues: [queueName], minProcesses: 1, maxProcesses: 1, concurrency: 20 },
    ]);
    // Its own spool directory: whatever this host spills stays with this test.
    const env = cliEnv({ WATCHTOWER_SPOOL_DIR: `${scratch.dir}/spool` });
    const host = await startHost(config, database.db, { env });
    hostId = host.hostId;

    await waitFor(
      async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) === total,
      120_000,
      'BullMQ to finish every job',
    );
    const rows = await waitFor(
      async () => {
        const { rows } = await client.query<Row>(
          `select job_id, name, status, payload, payload_truncated, sanitized, data_size, exception
           from watchtower_jobs where queue = $1 and status in ('completed', 'failed')`,
          [queueName],
        );
        return rows.length === total ? rows : undefined;
      },
      60_000,
      `all ${total} jobs to be recorded finished`,
    );
    const byName = new Map(rows.map((row) => [row.name, row]));
    const recorded = (name: string) => {
      const row = byName.get(name);
      if (!row) throw new Error(`no row named ${JSON.stringify(name)}`);
      return row;
    };

    const plain = rows.filter((row) => row.name === 'ordinary');
    expect(plain).toHaveLength(500);
    expect(plain.every((row) => row.status === 'completed' && !row.sanitized && !row.payload_truncated)).toBe(
      true,
    );

    expect(recorded('nul-data')).toMatchObject({
      status: 'completed',
      payload: { text: 'a\ufffdb' },
      sanitized: true,
      payload_truncated: false,
    });
    expect(recorded('nul\ufffdname')).toMatchObject({
      status: 'completed',
      payload: { label: 'nul-name' },
      sanitized: true,
    });
    expect(recorded('lone-surrogate')).toMatchObject({
      status: 'completed',
      payload: { text: 'x\ufffdy' },
      sanitized: true,
    });
    expect(recorded('nul-exception')).toMatchObject({
      status: 'failed',
      exception: 'broke\ufffdhere',
      sanitized: true,
    });
    const attempt = await client.query(
      'select error_message from watchtower_job_attempts where queue = $1 and job_id = $2',
      [queueName, recorded('nul-exception').job_id],
    );
    expect(attempt.rows).toEqual([{ error_message: 'broke\ufffdhere' }]);

    const deepRow = recorded('deep');
    expect(deepRow).toMatchObject({ status: 'completed', payload_truncated: true, sanitized: false });
    expect(deepRow.data_size).toBe(Buffer.byteLength(JSON.stringify(deep)));
    expect(depthOf(deepRow.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_DEPTH);
    expect(depthOf(deepRow.payload)).toBeGreaterThan(MAX_PAYLOAD_DEPTH / 2);

    const bigRow = recorded('five-megabytes');
    expect(bigRow).toMatchObject({ status: 'completed', payload_truncated: true, sanitized: false });
    expect(bigRow.data_size).toBe(Buffer.byteLength(JSON.stringify({ text: fiveMegabytes })));
    expect(typeof bigRow.payload).toBe('string');
    expect(Buffer.byteLength(bigRow.payload as string)).toBeLessThanOrEqual(16 * 1024);

    // Control characters are data Postgres takes: kept exactly, nothing flagged.
    expect(recorded('\u001b[1mansi')).toMatchObject({
      status: 'completed',
      payload: { text: ansi },
      sanitized: false,
      payload_truncated: false,
    });

    expect(recorded('nul-id')).toMatchObject({ job_id: 'nul\ufffdid', status: 'completed', sanitized: true });

    expect(recorded('bigint-result').status).toBe('failed');
    expect(recorded('bigint-result').exception).toMatch(/BigInt/);
    expect(recorded('circular-result').status).toBe('failed');
    expect(recorded('circular-result').exception).toMatch(/circular/i);

    // Cleaning did it all: nothing refused, nothing set aside, nothing lost, as the heartbeat says.
    const stats = await waitFor(
      async () => {
        const recorder = (await hostRow(database.db, hostId))?.stats.recorder as
          | Record<string, unknown>
          | undefined;
        return recorder && recorder.written !== 0 && recorder.buffered === 0 ? recorder : undefined;
      },
      20_000,
      'a heartbeat with the recorder idle',
    );
    expect(stats).toMatchObject({ dropped: 0, deadLettered: 0 });
    // Only the job id reached the recorder raw (a worker process sends ids as BullMQ has them).
    expect(stats.sanitized).toBeGreaterThanOrEqual(1);
    const setAside = await client.query(
      'select count(*)::int as n from watchtower_recorder_dead_letters where queue = $1',
      [queueName],
    );
    expect(setAside.rows[0].n).toBe(0);
    await host.stop();
  }, 240_000);
});

describe("the queue watcher's sweep past hostile jobs", () => {
  const database = openTestDatabase();
  const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
  const spoolDir = mkdtempSync(join(tmpdir(), 'wt-hostile-sweep-'));
  const queueName = uniqueName('hostile-sweep');
  const queue = testQueue(queueName);

  afterAll(async () => {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (const table of [
      'watchtower_job_attempts',
      'watchtower_jobs',
      'watchtower_metrics',
      'watchtower_recorder_cursors',
      'watchtower_recorder_dead_letters',
    ]) {
      await client.query(`delete from ${table} where queue = $1`, [queueName]);
    }
    await client.end();
    await database.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('records jobs run outside Watchtower with a NUL in their id, data or error, and moves on', async () => {
    const hostId = uniqueName('hostile-sweeper');
    const recorder = createRecorder({ db: database.db, hostId, spoolDir });
    const watcher = watchQueues({
      db: database.db,
      connection: 'default',
      url: testEnv.redisUrl,
      queues: [queueName],
      recorder,
      hostId,
      streamIntervalMs: 100,
      sweepIntervalMs: 60_000, // swept by hand below
      settleMs: 300,
      overlapMs: 1_000,
    });
    // A worker Watchtower does not run: only the sweep can record what it finishes.
    const worker = new Worker(
      queueName,
      async (job) => {
        if (job.data.failWith) throw new Error(job.data.failWith);
        return { echo: job.data };
      },
      { connection: { url: testEnv.redisUrl }, concurrency: 10 },
    );
    worker.on('error', () => undefined);
    try {
      await waitFor(() => watcher.stats().watching.length === 1, 10_000, 'the watcher to lease the queue');
      await queue.addBulk([
        { name: 'nul-id', data: { n: 1 }, opts: { jobId: 'sweep\u0000id', removeOnComplete: false } },
        { name: 'nul-data', data: { text: 'a\u0000b' } },
        { name: 'nul-error', data: { failWith: 'no\u0000luck' } },
        ...Array.from({ length: 20 }, (_, i) => ({ name: 'ordinary', data: { i } })),
      ]);
      await waitFor(
        async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) === 23,
        20_000,
        'the worker to finish every job',
      );
      await new Promise((resolve) => setTimeout(resolve, 700)); // past settleMs and one stream read
      const sweeps = watcher.stats().sweeps;
      const [report] = await watcher.sweep();
      expect(watcher.stats()).toMatchObject({ errors: 0, sweeps: sweeps + 1 });
      expect(report).toMatchObject({ queue: queueName });
      const { rows } = await client.query<{
        job_id: string;
        name: string;
        status: string;
        sanitized: boolean;
      }>(
        `select job_id, name, status, sanitized, exception, payload from watchtower_jobs
         where queue = $1 and name <> 'ordinary' order by name`,
        [queueName],
      );
      expect(rows).toEqual([
        expect.objectContaining({
          name: 'nul-data',
          status: 'completed',
          sanitized: true,
          payload: { text: 'a\ufffdb' },
        }),
        expect.objectContaining({
          name: 'nul-error',
          status: 'failed',
          sanitized: true,
          exception: 'no\ufffdluck',
        }),
        expect.objectContaining({
          job_id: 'sweep\ufffdid',
          name: 'nul-id',
          status: 'completed',
          sanitized: true,
        }),
      ]);
      const ordinary = await client.query(
        "select count(*)::int as n from watchtower_jobs where queue = $1 and name = 'ordinary' and status = 'completed'",
        [queueName],
      );
      expect(ordinary.rows[0].n).toBe(20);
      // The sweep's watermark moved: the next sweep starts after these jobs, not before them again.
      const cursor = await client.query(
        'select swept_until from watchtower_recorder_cursors where queue = $1',
        [queueName],
      );
      expect(cursor.rows[0]?.swept_until).not.toBeNull();
      // A second sweep finds every job recorded, including the one whose id held a NUL.
      const [again] = await watcher.sweep();
      expect(again).toMatchObject({ missing: 0, recorded: 0 });
      expect(watcher.stats().errors).toBe(0);
      expect(recorder.stats()).toMatchObject({ dropped: 0, deadLettered: 0 });
    } finally {
      await worker.close();
      await watcher.close();
      await recorder.close();
    }
  });

  it('waits for a spool that never drains only so long, then sweeps anyway', async () => {
    const hostId = uniqueName('stuck-spool');
    const real = createRecorder({ db: database.db, hostId, spoolDir });
    // The fault, made on purpose: a recorder whose spool stops draining (a line it cannot replay).
    let spoolPending = 0;
    const stuck: Recorder = { ...real, stats: () => ({ ...real.stats(), spoolPending }) };
    const stuckQueue = testQueue(uniqueName('stuck-sweep'));
    const watcher = watchQueues({
      db: database.db,
      connection: 'default',
      url: testEnv.redisUrl,
      queues: [stuckQueue.name],
      recorder: stuck,
      hostId,
      sweepIntervalMs: 60_000, // swept by hand below
      settleMs: 0,
      spoolWaitMs: 1_000,
      waitingScan: 0,
    });
    const worker = new Worker(stuckQueue.name, async () => 'done', { connection: { url: testEnv.redisUrl } });
    worker.on('error', () => undefined);
    try {
      await waitFor(() => watcher.stats().watching.length === 1, 10_000, 'the watcher to lease the queue');
      // Finished outside Watchtower and gone from the stream's view: only a sweep can record it.
      await stuckQueue.add('lost', { n: 1 });
      await waitFor(async () => (await stuckQueue.getCompletedCount()) === 1, 10_000, 'the job to finish');
      const recorded = async () =>
        (
          await client.query('select status from watchtower_jobs where queue = $1 and status = $2', [
            stuckQueue.name,
            'completed',
          ])
        ).rows.length;
      const sweeps = watcher.stats().sweeps;
      spoolPending = 1;
      await watcher.sweep();
      // Held back while the spool is pending...
      expect(watcher.stats().sweeps).toBe(sweeps);
      expect(await recorded()).toBe(0);
      // ...but not for good.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await watcher.sweep();
      expect(watcher.stats().sweeps).toBe(sweeps + 1);
      expect(await recorded()).toBe(1);
    } finally {
      await worker.close();
      await watcher.close();
      await real.close();
      await stuckQueue.obliterate({ force: true }).catch(() => undefined);
      await stuckQueue.close();
      await client.query('delete from watchtower_jobs where queue = $1', [stuckQueue.name]);
      await client.query('delete from watchtower_metrics where queue = $1', [stuckQueue.name]);
      await client.query('delete from watchtower_recorder_cursors where queue = $1', [stuckQueue.name]);
    }
  });
});
