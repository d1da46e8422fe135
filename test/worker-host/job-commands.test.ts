import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { type BulkProgress, commandProgressKey } from '../../core/commands/command-types';
import { rowsOf } from '../../core/db/database';
import {
  type HostProcess,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  sendAndWait,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

interface JobRow {
  id: number;
  job_id: string;
  status: string;
  retry_of: number | null;
}

/**
 * Job and queue commands, sent to "any host that can reach connection C" as the API sends them.
 * Jobs fail until the test creates a file, so a retry is what makes them complete.
 */
describe('job and queue commands', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  // Its own connection name, so only this file's host claims these commands.
  const connection = uniqueName('jc-connection');
  const queueName = uniqueName('jc-queue');
  const queue = testQueue(queueName);
  const target = { kind: 'connection' as const, id: connection };
  let bus: CommandBus;
  let host: HostProcess;
  let fixed = 0;

  /** A path that does not exist yet; `fix` creates it, after which jobs pointing at it succeed. */
  const brokenUntilFixed = () => join(scratch.dir, `fixed-${++fixed}`);
  const fix = (path: string) => writeFileSync(path, 'fixed');

  const jobRow = async (jobId: string) =>
    rowsOf<JobRow>(
      await db.execute(
        sql`select id::int, job_id, status, retry_of::int from watchtower_jobs
            where connection = ${connection} and queue = ${queueName} and job_id = ${jobId}`,
      ),
    )[0];

  const failedJob = async (opts: { removeOnFail?: boolean } = {}) => {
    const flag = brokenUntilFixed();
    const job = await queue.add('flaky', { failUnlessFile: flag }, opts);
    // The recorder's row says failed: what the dashboard's failed list shows.
    await waitFor(
      async () => (await jobRow(job.id!))?.status === 'failed',
      10_000,
      `job ${job.id} recorded as failed`,
    );
    return { job, flag };
  };

  beforeAll(async () => {
    bus = openTestBus(db);
    const config = writeConfig(
      scratch.dir,
      [
        {
          name: uniqueName('jc-supervisor'),
          queues: [queueName],
          minProcesses: 1,
          maxProcesses: 1,
          concurrency: 4,
        },
      ],
      {},
      { connection },
    );
    host = await startHost(config, db);
  });

  afterAll(async () => {
    await host?.stop();
    await killAllHosts();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await bus?.close();
    await database.close();
    scratch.cleanup();
  });

  it('retries a failed job that BullMQ still has, and it then completes', async () => {
    const { job, flag } = await failedJob();
    expect(await job.getState()).toBe('failed');
    fix(flag);
    const command = await sendAndWait(bus, {
      target,
      type: 'job.retry',
      args: { queue: queueName, jobId: job.id },
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toEqual({
      jobId: job.id,
      queue: queueName,
      connection,
      action: 'retried',
      from: 'failed',
    });
    await waitFor(async () => (await job.getState()) === 'completed', 10_000, 'the retried job to complete');
    await waitFor(
      async () => (await jobRow(job.id!))?.status === 'completed',
      10_000,
      'its row to say completed',
    );
  });

  it('retries a job that completed, keeping its first run as an attempt', async () => {
    const job = await queue.add('fine', {});
    const runs = async () =>
      rowsOf<{ attempt: number; status: string; worker_id: string | null; run_ms: number | null }>(
        await db.execute(
          sql`select attempt, status, worker_id, run_ms from watchtower_job_attempts
              where connection = ${connection} and queue = ${queueName} and job_id = ${job.id}
              order by attempt`,
        ),
      );
    await waitFor(async () => (await jobRow(job.id!))?.status === 'completed', 10_000, 'its first run');
    // A clean first run lives in the job row alone.
    expect(await runs()).toEqual([]);
    const command = await sendAndWait(bus, {
      target,
      type: 'job.retry',
      args: { queue: queueName, jobId: job.id },
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ action: 'retried', from: 'completed' });
    const both = await waitFor(
      async () => {
        const rows = await runs();
        return rows.length === 2 && rows[1]?.status === 'completed' ? rows : undefined;
      },
      10_000,
      'both runs recorded',
    );
    expect(both.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'completed'],
      [2, 'completed'],
    ]);
    expect(both[0]?.worker_id).toMatch(/\S/);
    expect(both[0]?.run_ms).not.toBeNull();
  });

  it('re-adds a failed job BullMQ forgot from its stored payload, linking the new row to the original', async () => {
    const { job, flag } = await failedJob({ removeOnFail: true });
    await waitFor(async () => !(await queue.getJob(job.id!)), 5000, 'BullMQ to drop the job');
    fix(flag);
    const command = await sendAndWait(bus, {
      target,
      type: 'job.retry',
      args: { queue: queueName, jobId: job.id },
    });
    expect(command.status, command.error ?? '').toBe('done');
    const result = command.result as { action: string; newJobId: string; retryOf: number };
    const original = await jobRow(job.id!);
    expect(result).toMatchObject({ jobId: job.id, action: 'readded', retryOf: original?.id });
    expect(original?.status).toBe('retrying');
    const again = (await queue.getJob(result.newJobId)) as Job;
    expect(again.data).toEqual({ failUnlessFile: flag });
    await waitFor(
      async () => (await again.getState()) === 'completed',
      10_000,
      'the re-added job to complete',
    );
    const row = await waitFor(
      async () => {
        const current = await jobRow(result.newJobId);
        return current?.status === 'completed' ? current : undefined;
      },
      10_000,
      'the new row to say completed',
    );
    expect(row.retry_of).toBe(original?.id);
  });

  it('deletes a job from BullMQ and marks its row deleted', async () => {
    const { job } = await failedJob();
    const command = await sendAndWait(bus, {
      target,
      type: 'job.delete',
      args: { queue: queueName, jobId: job.id },
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ jobId: job.id, action: 'removed' });
    expect(await queue.getJob(job.id!)).toBeUndefined();
    expect((await jobRow(job.id!))?.status).toBe('deleted');
  });

  it('fails clearly for a job that exists nowhere', async () => {
    const command = await sendAndWait(bus, {
      target,
      type: 'job.retry',
      args: { queue: queueName, jobId: 'no-such-job' },
    });
    expect(command.status).toBe('failed');
    expect(command.error).toBe(
      `job no-such-job is neither in queue ${queueName} (connection ${connection}) nor in Watchtower's records`,
    );
  });

  it('retries every failed job matching a filter, reporting progress, and they complete', async () => {
    const failed = await Promise.all([failedJob(), failedJob(), failedJob()]);
    for (const { flag } of failed) fix(flag);
    const command = await sendAndWait(bus, {
      target,
      type: 'failed.retry-all',
      args: { filter: { queue: queueName, name: 'flaky' } },
    });
    expect(command.status, command.error ?? '').toBe('done');
    const result = command.result as BulkProgress & { connection: string };
    expect(result).toMatchObject({ connection, retried: 3, readded: 0, failed: 0, complete: true });
    expect(result.processed).toBe(3);
    expect(await bus.get<BulkProgress>(commandProgressKey(command.id))).toMatchObject({
      retried: 3,
      complete: true,
    });
    for (const { job } of failed) {
      await waitFor(async () => (await job.getState()) === 'completed', 10_000, `job ${job.id} to complete`);
    }
  });

  it('deletes every failed job matching a filter', async () => {
    const failed = await Promise.all([failedJob(), failedJob()]);
    const command = await sendAndWait(bus, {
      target,
      type: 'failed.delete-all',
      args: { filter: { queue: queueName } },
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ deleted: 2, failed: 0, complete: true });
    for (const { job } of failed) expect(await queue.getJob(job.id!)).toBeUndefined();
  });

  it('pauses and resumes the queue', async () => {
    const paused = await sendAndWait(bus, { target, type: 'queue.pause', args: { queue: queueName } });
    expect(paused.status, paused.error ?? '').toBe('done');
    expect(paused.result).toEqual({ connection, queue: queueName, paused: true });
    expect(await queue.isPaused()).toBe(true);
    const job = await queue.add('while-paused', { label: 'waits' });
    await new Promise((r) => setTimeout(r, 700));
    // BullMQ keeps jobs of a paused queue in its wait list: they wait, and nothing runs them.
    expect(await job.getState()).toBe('waiting');
    const resumed = await sendAndWait(bus, { target, type: 'queue.resume', args: { queue: queueName } });
    expect(resumed.result).toEqual({ connection, queue: queueName, paused: false });
    await waitFor(async () => (await job.getState()) === 'completed', 10_000, 'the job to run after resume');
  });
});
