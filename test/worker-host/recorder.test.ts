import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { flushStatement } from '../../worker-host/recorder/flush-statement';
import { capJson, type JobEvent } from '../../worker-host/recorder/job-event';
import { type WatchQueuesOptions, watchQueues } from '../../worker-host/recorder/queue-watcher';
import type { RowBatch } from '../../worker-host/recorder/record-batch';
import { createRecorder, type Recorder } from '../../worker-host/recorder/recorder';
import { testEnv } from '../setup/test-env';
import {
  countsFor,
  deleteRecorderRows,
  fillQueue,
  pollUntil,
  type RecorderChild,
  startRecorderChild,
} from './fixtures/recorder-harness';

const run = Math.random().toString(36).slice(2, 8);
const spoolDir = mkdtempSync(join(tmpdir(), 'wt-recorder-spool-'));
const database = createNodeDatabase(testEnv.databaseUrl);
const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });

afterAll(async () => {
  await deleteRecorderRows(client, `rec-%-${run}`);
  await database.close();
  await client.end();
  rmSync(spoolDir, { recursive: true, force: true });
});

function event(queue: string, fields: Partial<JobEvent> & Pick<JobEvent, 'kind' | 'jobId'>): JobEvent {
  return { connection: 'default', queue, attempt: 0, ...fields };
}

async function jobRow(queue: string, jobId: string) {
  const { rows } = await client.query(
    'select status, attempts, worker_id, exception, payload, payload_truncated, data_size, wait_ms, run_ms, name from watchtower_jobs where queue = $1 and job_id = $2',
    [queue, jobId],
  );
  return rows[0];
}

describe('recorder: ordering and idempotence', () => {
  let recorder: Recorder;
  beforeAll(() => {
    recorder = createRecorder({ db: database.db, hostId: `order-${run}`, spoolDir });
  });
  afterAll(async () => {
    await recorder.close();
  });

  it('never moves a job backwards, and counts each transition once', async () => {
    const queue = `rec-order-${run}`;
    const t = Date.now() - 1_000;
    const completed = event(queue, {
      kind: 'completed',
      jobId: '1',
      attempt: 1,
      queuedAt: t,
      startedAt: t + 100,
      finishedAt: t + 150,
      payload: '{"a":1}',
      dataSize: 7,
      name: 'send',
      workerId: 'w1',
    });
    recorder.record([completed]);
    await recorder.flush();
    // A late start and a late add of the same job: both older than what is stored.
    recorder.record([
      event(queue, { kind: 'active', jobId: '1', attempt: 1, startedAt: t + 100, workerId: 'w2' }),
    ]);
    await recorder.flush();
    recorder.record([event(queue, { kind: 'queued', jobId: '1', queuedAt: t })]);
    await recorder.flush();
    // The same completion again (a retried flush, a replay, the sweep): changes nothing.
    recorder.record([{ ...completed }]);
    await recorder.flush();

    expect(await jobRow(queue, '1')).toMatchObject({
      status: 'completed',
      attempts: 1,
      worker_id: 'w1',
      payload: { a: 1 },
      wait_ms: 100,
      run_ms: 50,
      name: 'send',
    });
    const counts = await countsFor(client, queue);
    expect(counts).toMatchObject({ jobs: 1, completed: 1, attempts: 1, completedAttempts: 1 });
    // The run is kept in the job row; the late start left no attempt row behind, running for ever.
    const attemptRows = await client.query('select status from watchtower_job_attempts where queue = $1', [
      queue,
    ]);
    expect(attemptRows.rows).toEqual([]);
    expect(counts).toMatchObject({ metricsQueued: 1, metricsCompleted: 1, metricsFailed: 0 });
    // Times are sent relative to one epoch per statement: they must land as sent.
    const times = await client.query(
      `select (extract(epoch from queued_at) * 1000)::float8 as queued, (extract(epoch from started_at) * 1000)::float8 as started,
              (extract(epoch from completed_at) * 1000)::float8 as completed
       from watchtower_jobs where queue = $1`,
      [queue],
    );
    expect(times.rows.map((r) => [r.queued, r.started, r.completed].map(Math.round))).toEqual([
      [t, t + 100, t + 150],
    ]);
  });

  it('keeps a clean first run in its job row, and completes an attempt row written while it ran', async () => {
    const queue = `rec-first-${run}`;
    const t = Date.now() - 1_000;
    const run1 = { attempt: 1, queuedAt: t, startedAt: t + 10, workerId: 'w1' };
    recorder.record([event(queue, { kind: 'completed', jobId: 'quick', ...run1, finishedAt: t + 20 })]);
    recorder.record([event(queue, { kind: 'active', jobId: 'long', ...run1 })]);
    await recorder.flush();
    recorder.record([event(queue, { kind: 'completed', jobId: 'long', ...run1, finishedAt: t + 900 })]);
    await recorder.flush();
    const attempts = await client.query(
      `select job_id, attempt, status, worker_id, run_ms,
              round(extract(epoch from started_at) * 1000)::float8 as started,
              round(extract(epoch from finished_at) * 1000)::float8 as finished
       from watchtower_job_attempts where queue = $1`,
      [queue],
    );
    expect(attempts.rows).toEqual([
      {
        job_id: 'long',
        attempt: 1,
        status: 'completed',
        worker_id: 'w1',
        run_ms: 890,
        started: t + 10,
        finished: t + 900,
      },
    ]);
    expect(await jobRow(queue, 'quick')).toMatchObject({
      status: 'completed',
      attempts: 1,
      worker_id: 'w1',
      run_ms: 10,
    });
  });

  it('records retries as attempts and a retried metric, within one flush or across flushes', async () => {
    const queue = `rec-retry-${run}`;
    const t = Date.now() - 1_000;
    const failedOnce = (jobId: string) =>
      event(queue, {
        kind: 'failed',
        jobId,
        attempt: 1,
        startedAt: t,
        finishedAt: t + 5,
        willRetry: true,
        error: 'boom',
        stack: 'Error: boom\n    at here',
        queuedAt: t - 10,
      });
    const secondRun = (jobId: string, kind: 'completed' | 'failed') =>
      event(queue, {
        kind,
        jobId,
        attempt: 2,
        startedAt: t + 20,
        finishedAt: t + 30,
        queuedAt: t - 10,
        error: 'again',
      });

    // Job a: every step in one flush. Job b: one step per flush. Job c: fails for good.
    recorder.record([failedOnce('a'), secondRun('a', 'completed')]);
    recorder.record([failedOnce('b')]);
    recorder.record([failedOnce('c')]);
    await recorder.flush();
    expect(await jobRow(queue, 'b')).toMatchObject({ status: 'retrying', exception: 'boom', attempts: 1 });
    recorder.record([event(queue, { kind: 'active', jobId: 'b', attempt: 2, startedAt: t + 20 })]);
    await recorder.flush();
    expect(await jobRow(queue, 'b')).toMatchObject({ status: 'processing', attempts: 2 });
    recorder.record([secondRun('b', 'completed'), secondRun('c', 'failed')]);
    await recorder.flush();

    expect(await jobRow(queue, 'a')).toMatchObject({ status: 'completed', attempts: 2, exception: null });
    expect(await jobRow(queue, 'c')).toMatchObject({ status: 'failed', attempts: 2, exception: 'again' });
    const { rows } = await client.query(
      'select job_id, attempt, status, error_message, error_stack from watchtower_job_attempts where queue = $1 order by job_id, attempt',
      [queue],
    );
    expect(rows.map((r) => `${r.job_id}${r.attempt}:${r.status}`)).toEqual([
      'a1:failed',
      'a2:completed',
      'b1:failed',
      'b2:completed',
      'c1:failed',
      'c2:failed',
    ]);
    expect(rows[0]).toMatchObject({ error_message: 'boom', error_stack: 'Error: boom\n    at here' });
    const counts = await countsFor(client, queue);
    expect(counts).toMatchObject({
      metricsQueued: 3,
      metricsCompleted: 2,
      metricsFailed: 1,
      metricsRetried: 3,
    });
  });

  it('marks a run as stalled once a later run of the job is seen', async () => {
    const queue = `rec-stall-${run}`;
    const t = Date.now() - 1_000;
    recorder.record([
      event(queue, { kind: 'active', jobId: 's', attempt: 1, startedAt: t, workerId: 'dead' }),
    ]);
    await recorder.flush();
    recorder.record([
      event(queue, { kind: 'completed', jobId: 's', attempt: 2, startedAt: t + 50, finishedAt: t + 60 }),
    ]);
    await recorder.flush();
    const { rows } = await client.query(
      'select attempt, status, worker_id from watchtower_job_attempts where queue = $1 order by attempt',
      [queue],
    );
    expect(rows).toEqual([
      { attempt: 1, status: 'stalled', worker_id: 'dead' },
      { attempt: 2, status: 'completed', worker_id: null },
    ]);
    expect(await jobRow(queue, 's')).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('records a run cut off with its host, whose start never reached Postgres, as stalled', async () => {
    const queue = `rec-lost-${run}`;
    const t = Date.now() - 1_000;
    const attempts = async (jobId: string) =>
      (
        await client.query(
          'select attempt, status, started_at, finished_at from watchtower_job_attempts where queue = $1 and job_id = $2 order by attempt',
          [queue, jobId],
        )
      ).rows.map((r) => ({
        attempt: r.attempt,
        status: r.status,
        started: r.started_at === null ? null : 'known',
        finished: r.finished_at?.getTime() ?? null,
      }));
    // Run 1 died with its host before its start was written; BullMQ counts one stall.
    recorder.record([
      event(queue, {
        kind: 'completed',
        jobId: 'a',
        attempt: 2,
        startedAt: t,
        finishedAt: t + 10,
        stalledRuns: 1,
      }),
    ]);
    await recorder.flush();
    expect(await attempts('a')).toEqual([
      { attempt: 1, status: 'stalled', started: null, finished: t },
      { attempt: 2, status: 'completed', started: 'known', finished: t + 10 },
    ]);
    expect(await jobRow(queue, 'a')).toMatchObject({ status: 'completed', attempts: 2 });
    // Written again (a replayed spool, the sweep): nothing changes.
    recorder.record([
      event(queue, {
        kind: 'completed',
        jobId: 'a',
        attempt: 2,
        startedAt: t,
        finishedAt: t + 10,
        stalledRuns: 1,
      }),
    ]);
    await recorder.flush();
    expect(await attempts('a')).toHaveLength(2);

    // No stall counted: the missing run 1 failed without its failure being written. Left out.
    recorder.record([
      event(queue, { kind: 'completed', jobId: 'b', attempt: 2, startedAt: t, finishedAt: t + 10 }),
    ]);
    await recorder.flush();
    expect((await attempts('b')).map((a) => a.attempt)).toEqual([2]);

    // Run 1 failed (written), run 2 stalled unwritten, run 3: the one stall is run 2.
    recorder.record([
      event(queue, {
        kind: 'failed',
        jobId: 'c',
        attempt: 1,
        startedAt: t,
        finishedAt: t + 1,
        willRetry: true,
        error: 'x',
      }),
    ]);
    await recorder.flush();
    recorder.record([
      event(queue, {
        kind: 'completed',
        jobId: 'c',
        attempt: 3,
        startedAt: t + 5,
        finishedAt: t + 9,
        stalledRuns: 1,
      }),
    ]);
    await recorder.flush();
    expect((await attempts('c')).map((a) => `${a.attempt}:${a.status}`)).toEqual([
      '1:failed',
      '2:stalled',
      '3:completed',
    ]);

    // Run 1 stalled and written as running, run 2 unwritten, one stall: that stall is run 1's, so
    // run 2 is a failure nobody wrote, and is not made up.
    recorder.record([event(queue, { kind: 'active', jobId: 'd', attempt: 1, startedAt: t })]);
    await recorder.flush();
    recorder.record([
      event(queue, {
        kind: 'completed',
        jobId: 'd',
        attempt: 3,
        startedAt: t + 5,
        finishedAt: t + 9,
        stalledRuns: 1,
      }),
    ]);
    await recorder.flush();
    expect((await attempts('d')).map((a) => `${a.attempt}:${a.status}`)).toEqual([
      '1:stalled',
      '3:completed',
    ]);
  });

  it('stores large payloads capped and flagged, with their full size', async () => {
    const queue = `rec-payload-${run}`;
    const big = { text: 'é'.repeat(20_000) };
    const capped = capJson(big);
    expect(capped.truncated).toBe(true);
    recorder.record([
      event(queue, {
        kind: 'queued',
        jobId: 'big',
        payload: capped.text,
        payloadTruncated: true,
        dataSize: capped.size,
      }),
    ]);
    await recorder.flush();
    const row = await jobRow(queue, 'big');
    expect(row.payload_truncated).toBe(true);
    expect(row.data_size).toBe(Buffer.byteLength(JSON.stringify(big)));
    expect(typeof row.payload).toBe('string');
    expect(Buffer.byteLength(row.payload)).toBeLessThanOrEqual(16 * 1024);
  });

  it('spools what Postgres will not take, and a later recorder replays it', async () => {
    const queue = `rec-spool-${run}`;
    const dir = mkdtempSync(join(tmpdir(), 'wt-spool-replay-'));
    // Nothing listens on port 1: every write fails at once.
    const unreachable = createNodeDatabase('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    const failing = createRecorder({
      db: unreachable.db,
      hostId: `gone-${run}`,
      spoolDir: dir,
      retryInitialMs: 20,
      retryMaxMs: 50,
      closeTimeoutMs: 300,
    });
    const t = Date.now() - 1_000;
    failing.record(
      Array.from({ length: 300 }, (_, i) =>
        event(queue, { kind: 'completed', jobId: String(i), attempt: 1, startedAt: t, finishedAt: t + 1 }),
      ),
    );
    await expect(failing.flush()).rejects.toThrow();
    await failing.close();
    await unreachable.close();
    // One row a job: a clean first run is kept in its job row, not as an attempt row too.
    expect(failing.stats()).toMatchObject({ spilled: 300, dropped: 0, buffered: 0 });
    expect(failing.stats().retries).toBeGreaterThan(0);

    // Another host (or this one restarted) finds the orphaned file and writes it.
    const replaying = createRecorder({
      db: database.db,
      hostId: `next-${run}`,
      spoolDir: dir,
      spoolOrphanAfterMs: 0,
      flushIntervalMs: 20,
    });
    await pollUntil(
      async () => replaying.stats().replayed,
      (n) => n === 300,
      10_000,
      50,
    );
    expect(replaying.stats().replayed).toBe(300);
    const counts = await countsFor(client, queue);
    expect(counts).toMatchObject({ completed: 300, completedAttempts: 300, metricsCompleted: 300 });
    await replaying.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses malformed IPC messages and events, counting them', async () => {
    const before = recorder.stats().rejected;
    expect(recorder.accept({ type: 'worker-state' })).toBe(false);
    expect(recorder.accept(null)).toBe(false);
    // A message without the worker's shared fields is not a job-events message at all.
    expect(recorder.accept({ type: 'job-events', events: [] })).toBe(false);
    const events = recorder.stats().events;
    const shared = { type: 'job-events', connection: 'default', queue: `hostile-${run}`, workerId: 'w-1' };
    const refused = [
      { kind: 'completed' },
      42,
      ['exploded', '1', 1, 'job', 0, null, null, null],
      ['completed', 7, 1, 'job', 0, null, null, null],
      ['completed', '1', -1, 'job', 0, null, null, null],
      ['completed', '1', 1.5, 'job', 0, null, null, null],
      ['completed', '1', 1],
    ];
    expect(recorder.accept({ ...shared, events: refused })).toBe(true);
    expect(recorder.stats().rejected).toBe(before + refused.length);
    expect(recorder.stats().events).toBe(events);
    // Optional fields of the wrong type cost only themselves.
    const odd = { dataSize: 'big', error: 42, willRetry: 'yes', result: '{"ok":true}' };
    expect(recorder.accept({ ...shared, events: [['completed', 'odd-1', 1, 'job', 1, 2, 3, 7, odd]] })).toBe(
      true,
    );
    expect(recorder.stats().rejected).toBe(before + refused.length);
    await recorder.flush();
    const { rows } = await client.query(
      'select status, payload, data_size, exception, result from watchtower_jobs where queue = $1',
      [shared.queue],
    );
    expect(rows).toEqual([
      { status: 'completed', payload: null, data_size: 0, exception: null, result: { ok: true } },
    ]);
  });
});

describe('queue watcher', () => {
  const hostA = `watch-a-${run}`;
  const hostB = `watch-b-${run}`;
  const watch = (
    recorder: Recorder,
    queue: string,
    hostId: string,
    waitingScan = 1_000,
    options: Partial<WatchQueuesOptions> = {},
  ) =>
    watchQueues({
      waitingScan,
      db: database.db,
      connection: 'default',
      url: testEnv.redisUrl,
      queues: [queue],
      recorder,
      hostId,
      streamIntervalMs: 100,
      sweepIntervalMs: 60_000, // sweeps are run by hand below
      settleMs: 300,
      overlapMs: 1_000,
      ...options,
    });

  it('records jobs added by any producer, resumes from its saved cursor, and leases the queue', async () => {
    const queueName = `rec-watch-${run}`;
    const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    const recorder = createRecorder({ db: database.db, hostId: hostA, spoolDir });
    try {
      // No waiting-list scan: what is recorded here comes from the event stream and its cursor.
      let watcher = watch(recorder, queueName, hostA, 0);
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );
      // A second host finds the queue leased and stands by.
      const standby = watch(recorder, queueName, hostB);
      await standby.sweep();
      expect(standby.stats().watching).toEqual([]);
      await standby.close();

      await queue.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'mail', data: { to: `u${i}` } })));
      await queue.add('later', { x: 1 }, { delay: 60_000 });
      const rows = async () =>
        (
          await client.query<{ status: string; n: string }>(
            'select status, count(*) as n from watchtower_jobs where queue = $1 group by status order by status',
            [queueName],
          )
        ).rows.map((r) => `${r.status}:${r.n}`);
      expect(await pollUntil(rows, (r) => r.join() === 'delayed:1,queued:40', 10_000)).toEqual([
        'delayed:1',
        'queued:40',
      ]);
      expect(await jobRow(queueName, '1')).toMatchObject({
        name: 'mail',
        payload: { to: 'u0' },
        status: 'queued',
      });
      await watcher.close();
      const cursor = await client.query(
        'select last_event_id, owner from watchtower_recorder_cursors where queue = $1',
        [queueName],
      );
      expect(cursor.rows[0]?.last_event_id).toMatch(/^\d+-\d+$/);

      // Added while nobody watched: the next watcher reads them from the saved cursor.
      await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'mail', data: { to: `v${i}` } })));
      watcher = watch(recorder, queueName, hostB, 0);
      expect(await pollUntil(rows, (r) => r.join() === 'delayed:1,queued:50', 10_000)).toEqual([
        'delayed:1',
        'queued:50',
      ]);
      expect(watcher.stats().watching).toEqual([queueName]);
      await watcher.close();
      const counts = await countsFor(client, queueName);
      expect(counts.metricsQueued).toBe(51);
    } finally {
      await recorder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('lets a standby take the lease of a holder marked dead at once', async () => {
    const queueName = `rec-dead-${run}`;
    const dead = `watch-dead-${run}`;
    const recorder = createRecorder({ db: database.db, hostId: hostB, spoolDir });
    const holder = watch(recorder, queueName, dead);
    try {
      await pollUntil(
        async () => holder.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );
      const standby = watch(recorder, queueName, hostB);
      await standby.sweep();
      expect(standby.stats().watching).toEqual([]);
      // The heartbeats find the holder dead; its lease has most of its 30 s left.
      await client.query(
        `insert into watchtower_hosts (host_id, hostname, pid, status) values ($1, 'gone', 1, 'dead')`,
        [dead],
      );
      await standby.sweep();
      expect(standby.stats().watching).toEqual([queueName]);
      await standby.close();
    } finally {
      await holder.close();
      await recorder.close();
      await client.query('delete from watchtower_hosts where host_id = $1', [dead]);
    }
  });

  it('waits on an idle event stream instead of polling it, and wakes for a new job', async () => {
    const queueName = `rec-block-${run}`;
    const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    const recorder = createRecorder({ db: database.db, hostId: hostA, spoolDir });
    // One read may wait a minute: only an event can end it within the test.
    const watcher = watch(recorder, queueName, hostA, 0, { streamIntervalMs: 50, streamBlockMs: 60_000 });
    try {
      await pollUntil(
        async () => watcher.stats().streamReads,
        (n) => n >= 1,
        10_000,
        20,
      );
      const idleFrom = watcher.stats().streamReads;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Polling every 50 ms would have read about 20 times by now.
      expect(watcher.stats().streamReads - idleFrom).toBe(0);

      await queue.add('wake', { n: 1 });
      const status = async () => (await jobRow(queueName, '1'))?.status;
      expect(await pollUntil(status, (s) => s === 'queued', 10_000)).toBe('queued');
    } finally {
      await watcher.close();
      await recorder.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
  });

  it('sweeps up jobs finished without events reaching the recorder, kept or removed by Redis', async () => {
    const queueName = `rec-sweep-${run}`;
    const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    const recorder = createRecorder({ db: database.db, hostId: hostA, spoolDir });
    const watcher = watch(recorder, queueName, hostA);
    // A worker Watchtower does not run: nothing it does reaches the recorder directly.
    const worker = new Worker(
      queueName,
      async (job) => {
        if (job.data.fail) throw new Error('no luck');
        return { ok: job.data.i };
      },
      { connection: { url: testEnv.redisUrl }, concurrency: 10 },
    );
    worker.on('error', () => undefined);
    try {
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );
      await queue.addBulk([
        ...Array.from({ length: 30 }, (_, i) => ({ name: 'kept', data: { i } })),
        ...Array.from({ length: 10 }, (_, i) => ({
          name: 'gone',
          data: { i },
          opts: { removeOnComplete: true },
        })),
        { name: 'bad', data: { fail: true } },
      ]);
      await pollUntil(
        async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()),
        (n) => n === 31,
        10_000,
        50,
      );
      await pollUntil(
        async () => (await queue.getJobCounts('active', 'waiting')).waiting,
        (n) => n === 0,
        10_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 700)); // past settleMs and one stream read
      await watcher.sweep();
      const counts = await countsFor(client, queueName);
      expect(counts).toMatchObject({
        jobs: 41,
        completed: 40,
        failed: 1,
        metricsCompleted: 40,
        metricsFailed: 1,
      });
      expect(await jobRow(queueName, '1')).toMatchObject({
        status: 'completed',
        name: 'kept',
        payload: { i: 0 },
      });
      const failed = await client.query(
        "select exception, status from watchtower_jobs where queue = $1 and name = 'bad'",
        [queueName],
      );
      expect(failed.rows[0]).toMatchObject({ status: 'failed', exception: 'no luck' });
      expect(watcher.stats().recoveredFromStream).toBe(10);
      // A second sweep finds nothing new, and counts nothing twice.
      await watcher.sweep();
      expect(await countsFor(client, queueName)).toMatchObject({ metricsCompleted: 40, metricsFailed: 1 });
    } finally {
      await worker.close();
      await watcher.close();
      await recorder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('reads a busy stream filtered in Redis, and still records what Redis removed and why jobs failed', async () => {
    const queueName = `rec-busy-${run}`;
    const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    const recorder = createRecorder({ db: database.db, hostId: hostA, spoolDir });
    // Short intervals: the stream stays busy across many reads while the burst runs. Few enough
    // jobs that BullMQ's trimming of the stream (about 10,000 events) cannot drop an unread one:
    // a job Redis removed and whose events were trimmed is lost to any watcher, by design.
    const watcher = watch(recorder, queueName, hostA, 1_000, { streamIntervalMs: 20, streamCount: 500 });
    const worker = new Worker(
      queueName,
      async (job) => {
        // One reason holds a NUL: the read that carries it comes back unjoined (event-stream.ts).
        if (job.data.fail)
          throw new Error(job.data.i === 450 ? 'refused 450\u0000!' : `refused ${job.data.i}`);
        return { ok: job.data.i };
      },
      { connection: { url: testEnv.redisUrl }, concurrency: 50, autorun: false },
    );
    worker.on('error', () => undefined);
    try {
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );
      // Removed on completion, or on failure: only the stream's events say these jobs ever ran.
      await queue.addBulk(
        Array.from({ length: 600 }, (_, i) => ({
          name: 'gone',
          data: { i, fail: i % 150 === 0 },
          opts: { removeOnComplete: true, removeOnFail: true },
        })),
      );
      void worker.run();
      await pollUntil(
        async () => (await queue.getJobCounts('waiting', 'active')) as Record<string, number>,
        (counts) => counts.waiting === 0 && counts.active === 0,
        30_000,
        50,
      );
      await new Promise((resolve) => setTimeout(resolve, 700)); // past settleMs and one stream read
      await watcher.sweep();
      expect(await countsFor(client, queueName)).toMatchObject({ jobs: 600, completed: 596, failed: 4 });
      const failed = await client.query<{ exception: string }>(
        "select exception from watchtower_jobs where queue = $1 and status = 'failed' order by exception",
        [queueName],
      );
      expect(failed.rows.map((row) => row.exception)).toEqual([
        'refused 0',
        'refused 150',
        'refused 300',
        // Whole, its NUL made storable: split on NUL, the read would have lost the reason's end and
        // shifted every row after it.
        'refused 450\uFFFD!',
      ]);
      expect(watcher.stats().filteredReads).toBeGreaterThan(0);
      // Another worker's finishes, which only the stream reports: never read at a slower pace.
      expect(watcher.stats().pacedReads).toBe(0);
    } finally {
      await worker.close();
      await watcher.close();
      await recorder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});

describe('recorder: a job id that BullMQ gives to a new job', () => {
  it('puts rows that do not say which job of an id they are on the newest one', async () => {
    const queue = `rec-undated-${run}`;
    const recorder = createRecorder({ db: database.db, hostId: `undated-${run}`, spoolDir });
    const t = Date.now() - 10_000;
    const run1 = (jobId: string, queuedAt: number, kind: 'completed' | 'active') =>
      event(queue, { kind, jobId, attempt: 1, queuedAt, startedAt: queuedAt + 10, workerId: 'w1' });
    // Job 'r' twice: the first job completed, the one that took its id is running.
    recorder.record([{ ...run1('r', t, 'completed'), finishedAt: t + 20 }, run1('r', t + 1_000, 'active')]);
    await recorder.flush();
    await recorder.close();
    // A spool line written before jobs had timestamps: its attempts do not say which job they are
    // of. They belong to the newest job of their id, in Postgres or in the same statement.
    const legacy = {
      jobs: [
        {
          connection: 'default',
          queue,
          jobId: 'new',
          status: 'failed',
          attempt: 1,
          queuedAt: t + 2_000,
          startedAt: t + 2_010,
          finishedAt: t + 2_020,
        },
      ],
      attempts: [
        { connection: 'default', queue, jobId: 'r', attempt: 1, status: 'failed', startedAt: t + 1_010 },
        { connection: 'default', queue, jobId: 'new', attempt: 1, status: 'failed', startedAt: t + 2_010 },
      ],
    } satisfies RowBatch;
    await database.db.execute(flushStatement(legacy));
    const { rows } = await client.query<{
      job_id: string;
      job_timestamp: string;
      attempt: number;
      status: string;
    }>(
      'select job_id, job_timestamp, attempt, status from watchtower_job_attempts where queue = $1 order by job_id, job_timestamp',
      [queue],
    );
    expect(rows.map((r) => [r.job_id, Number(r.job_timestamp), r.attempt, r.status])).toEqual([
      ['new', t + 2_000, 1, 'failed'],
      ['r', t + 1_000, 1, 'failed'],
    ]);
  });

  it('sweeps up a new job under the id of one already recorded, and keeps both', async () => {
    const queueName = `rec-reuse-${run}`;
    const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    const recorder = createRecorder({ db: database.db, hostId: `reuse-${run}`, spoolDir });
    const watch = async () => {
      const watcher = watchQueues({
        db: database.db,
        connection: 'default',
        url: testEnv.redisUrl,
        queues: [queueName],
        recorder,
        hostId: `reuse-${run}`,
        waitingScan: 0,
        streamIntervalMs: 100,
        sweepIntervalMs: 60_000, // sweeps are run by hand below
        settleMs: 300,
      });
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );
      return watcher;
    };
    // A worker Watchtower does not run: only the watcher's stream and sweep see its jobs.
    const worker = new Worker(queueName, async (job) => ({ n: job.data.n }), {
      connection: { url: testEnv.redisUrl },
    });
    worker.on('error', () => undefined);
    const finished = (job: { id?: string | undefined }) =>
      pollUntil(
        async () => (await queue.getJob(job.id as string))?.finishedOn ?? null,
        (finishedOn) => finishedOn !== null,
        10_000,
        50,
      );
    const settled = () => new Promise((resolve) => setTimeout(resolve, 700)); // past settleMs and one stream read
    const rows = async () =>
      (
        await client.query<{ job_timestamp: string; status: string; payload: unknown }>(
          `select job_timestamp, status, payload from watchtower_jobs where queue = $1 and job_id = 'x'
           order by job_timestamp`,
          [queueName],
        )
      ).rows.map((r) => [Number(r.job_timestamp), r.status, r.payload]);
    let watcher = await watch();
    try {
      const first = await queue.add('first', { n: 1 }, { jobId: 'x' });
      await finished(first);
      await settled();
      await watcher.sweep();
      expect(await rows()).toEqual([[first.timestamp, 'completed', { n: 1 }]]);
      await watcher.close();
      // While nobody watches, and with the stream's cursor lost, the id goes to a new job that
      // finishes: only the sweep can find it, among finished jobs whose ids Postgres has rows for.
      await client.query('delete from watchtower_recorder_cursors where queue = $1', [queueName]);
      await first.remove();
      const second = await queue.add('second', { n: 2 }, { jobId: 'x' });
      await finished(second);
      watcher = await watch();
      await settled();
      await watcher.sweep();
      expect(await rows()).toEqual([
        [first.timestamp, 'completed', { n: 1 }],
        [second.timestamp, 'completed', { n: 2 }],
      ]);
      expect(watcher.stats().recovered).toBe(1);
      // Another sweep finds both recorded, and counts nothing twice.
      await watcher.sweep();
      expect(watcher.stats().recovered).toBe(1);
      expect(await countsFor(client, queueName)).toMatchObject({
        jobs: 2,
        completed: 2,
        metricsQueued: 2,
        metricsCompleted: 2,
      });
    } finally {
      await worker.close();
      await watcher.close();
      await recorder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});

describe('recorder: a burst through worker processes', () => {
  const queueName = `rec-burst-${run}`;
  // Enough for many flushes of every kind from two processes at once; volume is the benches' part.
  const total = 10_000;
  const children: RecorderChild[] = [];
  let queue: Queue;

  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
  });

  it('ends a burst of 10,000 jobs with exactly 10,000 completed records and metrics', async () => {
    const recorder = createRecorder({ db: database.db, hostId: `burst-${run}`, spoolDir });
    queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    const watcher = watchQueues({
      db: database.db,
      connection: 'default',
      url: testEnv.redisUrl,
      queues: [queueName],
      recorder,
      hostId: `burst-${run}`,
      sweepIntervalMs: 2_000,
      settleMs: 2_000,
    });
    try {
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        50,
      );
      await fillQueue(queue, total);
      for (let i = 0; i < 2; i++) {
        children.push(
          startRecorderChild({
            queue: queueName,
            url: testEnv.redisUrl,
            onMessage: (m) => recorder.accept(m),
          }),
        );
      }
      await Promise.all(children.map((c) => c.ready));
      const counts = await pollUntil(
        () => countsFor(client, queueName),
        (c) => c.completed === total && c.metricsCompleted === total,
        120_000,
        500,
      );
      expect(counts).toMatchObject({
        jobs: total,
        completed: total,
        completedAttempts: total,
        attempts: total,
        metricsCompleted: total,
        metricsQueued: total,
        metricsFailed: 0,
      });
      const stats = recorder.stats();
      expect(stats.dropped).toBe(0);
      expect(stats.rejected).toBe(0);
      console.log('burst recorder stats', JSON.stringify(stats), 'watcher', JSON.stringify(watcher.stats()));
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      await watcher.close();
      await recorder.close();
    }
  }, 180_000);
});
