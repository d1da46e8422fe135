import type { Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import type { BulkProgress } from '../../core/commands/command-types';
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

/**
 * BullMQ gives the id of a removed job to the next job added with it (a producer's custom `jobId`
 * after removeOnComplete/removeOnFail, or any id after Redis is flushed). A real host with its
 * worker processes records each as a job of its own, and job commands act on the job they name
 * (by its timestamp) and no other.
 */
describe('a job id that BullMQ gives to a new job', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const connection = uniqueName('reuse-connection');
  const queueName = uniqueName('reuse-queue');
  const queue = testQueue(queueName);
  const target = { kind: 'connection' as const, id: connection };
  let bus: CommandBus;
  let host: HostProcess;

  const iso = (ms: number) => new Date(ms).toISOString();

  const jobRows = async (jobId: string) =>
    rowsOf<{ job_timestamp: string; status: string; attempts: number; name: string }>(
      await db.execute(
        sql`select job_timestamp, status, attempts, name from watchtower_jobs
            where connection = ${connection} and queue = ${queueName} and job_id = ${jobId}
            order by job_timestamp`,
      ),
    ).map((row) => ({ ...row, job_timestamp: Number(row.job_timestamp) }));

  const attemptRows = async (jobId: string) =>
    rowsOf<{ job_timestamp: string; attempt: number; status: string }>(
      await db.execute(
        sql`select job_timestamp, attempt, status from watchtower_job_attempts
            where connection = ${connection} and queue = ${queueName} and job_id = ${jobId}
            order by job_timestamp, attempt`,
      ),
    ).map((row) => [Number(row.job_timestamp), row.attempt, row.status]);

  /** Waits until the id's rows read `statuses`, oldest job first. */
  const recorded = (jobId: string, statuses: string[]) =>
    waitFor(
      async () => {
        const rows = await jobRows(jobId);
        return rows.map((row) => row.status).join() === statuses.join() ? rows : undefined;
      },
      15_000,
      `job ${jobId} recorded as ${statuses.join(', ')}`,
    );

  const gone = (jobId: string) =>
    waitFor(async () => !(await queue.getJob(jobId)), 10_000, `BullMQ to remove job ${jobId}`);

  beforeAll(async () => {
    bus = openTestBus(db);
    const config = writeConfig(
      scratch.dir,
      [{ name: uniqueName('reuse-supervisor'), queues: [queueName], minProcesses: 1, concurrency: 4 }],
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

  it('records the new job as a job of its own, keeps the earlier one, and refuses commands meant for it', async () => {
    const id = uniqueName('order');
    // The first job with this id fails its first run, completes its second, and BullMQ drops it.
    const first = await queue.add(
      'send',
      { failFirst: true },
      { jobId: id, attempts: 2, removeOnComplete: true },
    );
    await recorded(id, ['completed']);
    await gone(id);
    // A producer adds a job with the same id; it fails both its runs.
    const second = await queue.add('charge', { fail: true }, { jobId: id, attempts: 2 });
    expect(second.timestamp).toBeGreaterThan(first.timestamp);
    const rows = await recorded(id, ['completed', 'failed']);
    expect(rows).toEqual([
      { job_timestamp: first.timestamp, status: 'completed', attempts: 2, name: 'send' },
      { job_timestamp: second.timestamp, status: 'failed', attempts: 2, name: 'charge' },
    ]);
    expect(await attemptRows(id)).toEqual([
      [first.timestamp, 1, 'failed'],
      [first.timestamp, 2, 'completed'],
      [second.timestamp, 1, 'failed'],
      [second.timestamp, 2, 'failed'],
    ]);

    // The earlier job is gone: a command meant for it must not touch the one that holds its id now.
    for (const [type, verb] of [
      ['job.delete', 'delete'],
      ['job.retry', 'retry'],
    ] as const) {
      const command = await sendAndWait(bus, {
        target,
        type,
        args: { queue: queueName, jobId: id, timestamp: first.timestamp },
      });
      expect(command.status, type).toBe('failed');
      expect(command.error).toBe(
        `job ${id} in queue ${queueName} now holds a different job (enqueued at ${iso(second.timestamp)}, ` +
          `not ${iso(first.timestamp)}); refusing to ${verb}`,
      );
    }
    const held = (await queue.getJob(id)) as Job;
    expect(held.timestamp).toBe(second.timestamp);
    expect(await held.getState()).toBe('failed');
    expect(held.attemptsMade).toBe(2);
    expect((await jobRows(id)).map((row) => row.status)).toEqual(['completed', 'failed']);

    // Meant for the job that holds the id, a command acts on it, and on its row alone.
    const deleted = await sendAndWait(bus, {
      target,
      type: 'job.delete',
      args: { queue: queueName, jobId: id, timestamp: second.timestamp },
    });
    expect(deleted.status, deleted.error ?? '').toBe('done');
    expect(deleted.result).toMatchObject({ action: 'removed' });
    expect(await queue.getJob(id)).toBeUndefined();
    expect((await jobRows(id)).map((row) => row.status)).toEqual(['completed', 'deleted']);
  });

  it('refuses to retry, as the failed job it was, a job that completed since', async () => {
    const job = await queue.add('fine', {});
    await recorded(job.id as string, ['completed']);
    const command = await sendAndWait(bus, {
      target,
      type: 'job.retry',
      args: { queue: queueName, jobId: job.id, timestamp: job.timestamp, state: 'failed' },
    });
    expect(command.status).toBe('failed');
    expect(command.error).toBe(`job ${job.id} in ${queueName} is completed, not failed: refusing to retry`);
    expect(await job.getState()).toBe('completed');
    expect((await jobRows(job.id as string)).map((row) => row.status)).toEqual(['completed']);
  });

  it('leaves the job that took the id of a failed one alone in a bulk retry or delete', async () => {
    const id = uniqueName('bulk');
    const name = uniqueName('bulk-name');
    await queue.add(name, { fail: true }, { jobId: id, removeOnFail: true });
    await recorded(id, ['failed']);
    await gone(id);
    const second = await queue.add(name, {}, { jobId: id });
    await recorded(id, ['failed', 'completed']);
    const finishedOn = ((await queue.getJob(id)) as Job).finishedOn;

    for (const type of ['failed.delete-all', 'failed.retry-all'] as const) {
      const command = await sendAndWait(bus, {
        target,
        type,
        args: { filter: { queue: queueName, name } },
      });
      expect(command.status, command.error ?? '').toBe('done');
      const verb = type === 'failed.delete-all' ? 'delete' : 'retry';
      expect(command.result).toMatchObject({
        processed: 1,
        deleted: 0,
        retried: 0,
        readded: 0,
        failed: 1,
        complete: true,
        errors: [{ jobId: id, queue: queueName, error: expect.stringContaining(`; refusing to ${verb}`) }],
      });
      expect((command.result as BulkProgress).skipped).toBe(0);
    }
    const held = (await queue.getJob(id)) as Job;
    expect(held.timestamp).toBe(second.timestamp);
    expect(await held.getState()).toBe('completed');
    expect(held.finishedOn).toBe(finishedOn);
    expect((await jobRows(id)).map((row) => row.status)).toEqual(['failed', 'completed']);
  });
});
