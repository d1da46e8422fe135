import type { Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { ensureDatabase } from '../../scripts/local-only/services';
import { createQueue } from '../../worker-host/worker/queue-backend';
import { testEnv } from '../setup/test-env';
import {
  type HostProcess,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  type WorkerRow,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/**
 * A supervisor's settings reach its worker processes: tries, timeout, the memory limit, auto
 * balancing, and BullMQ's Postgres backend. One host runs a supervisor per setting.
 */
describe('supervisor settings in the worker processes', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const connection = uniqueName('ws-connection');
  const names = {
    tries: uniqueName('ws-tries'),
    timeout: uniqueName('ws-timeout'),
    memory: uniqueName('ws-memory'),
    auto: uniqueName('ws-auto'),
    postgres: uniqueName('ws-postgres'),
  };
  const queues = Object.fromEntries(
    Object.entries(names).map(([key, name]) => [key, testQueue(name)]),
  ) as Record<keyof typeof names, ReturnType<typeof testQueue>>;
  const queuesDatabase = new URL(testEnv.databaseUrl);
  queuesDatabase.pathname = '/watchtower_bullmq_test';
  let host: HostProcess;

  const rowsOfQueue = async (queue: string): Promise<WorkerRow[]> =>
    (await workersOf(db, host.hostId)).filter((w) => w.queue === queue);

  beforeAll(async () => {
    await ensureDatabase(queuesDatabase.toString());
    queues.postgres = createQueue(queuesDatabase.toString(), names.postgres);
    queues.postgres.on('error', () => undefined);
    const one = { minProcesses: 1, maxProcesses: 1 };
    const config = writeConfig(
      scratch.dir,
      [
        { name: `${names.tries}-s`, queues: [names.tries], ...one, tries: 3 },
        { name: `${names.timeout}-s`, queues: [names.timeout], ...one, timeout: 1 },
        { name: `${names.memory}-s`, queues: [names.memory], ...one, memory: 1 },
        {
          name: `${names.auto}-s`,
          queues: [names.auto],
          balance: 'auto',
          minProcesses: 1,
          maxProcesses: 3,
          balanceCooldown: 0.5,
        },
        { name: `${names.postgres}-s`, connection: 'queues-on-postgres', queues: [names.postgres], ...one },
      ],
      {},
      { connection, connections: { 'queues-on-postgres': { url: queuesDatabase.toString() } } },
    );
    host = await startHost(config, db, { workers: 5 });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllHosts();
    for (const [key, queue] of Object.entries(queues)) {
      if (key !== 'postgres') await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await database.close();
    scratch.cleanup();
  });

  it('tries: a job without its own attempts runs `tries` times before it stays failed', async () => {
    const job = await queues.tries.add('always-fails', { fail: true });
    await waitFor(
      async () => {
        const current = (await queues.tries.getJob(job.id!)) as Job;
        return (await current.getState()) === 'failed' && current.attemptsMade >= 3 ? current : undefined;
      },
      15_000,
      'three runs',
    );
    await new Promise((r) => setTimeout(r, 500));
    const final = (await queues.tries.getJob(job.id!)) as Job;
    expect(final.attemptsMade).toBe(3);
    expect(await final.getState()).toBe('failed');
    // Recorded as runs made of runs allowed: the dashboard shows "3 of 3", not "3 of 1".
    const recorded = await waitFor(
      async () => {
        const [row] = rowsOf<{ status: string; attempts: number; max_attempts: number }>(
          await db.execute(sql`select status, attempts, max_attempts from watchtower_jobs
                               where queue = ${names.tries} and job_id = ${job.id}`),
        );
        return row?.status === 'failed' && row.attempts === 3 ? row : undefined;
      },
      15_000,
      'the job recorded failed after three runs',
    );
    expect(recorded.max_attempts).toBe(3);
  });

  it('timeout: a job running too long fails as timed out; one that ignores it costs its process', async () => {
    const polite = await queues.timeout.add('slow', { ms: 20_000 });
    const failed = await waitFor(
      async () => {
        // State first, then the job: read the other way round, a job failing in between comes
        // back with the state 'failed' but the fields read while it was still active.
        if ((await queues.timeout.getJobState(polite.id!)) !== 'failed') return undefined;
        return (await queues.timeout.getJob(polite.id!)) as Job;
      },
      10_000,
      'the slow job to time out',
    );
    expect(failed.failedReason).toBe(`Job ${polite.id} timed out after 1 s`);
    const [before] = await rowsOfQueue(names.timeout);

    const stubborn = await queues.timeout.add('stuck', { ms: 60_000, stubborn: true });
    await waitFor(
      async () => (await ((await queues.timeout.getJob(stubborn.id!)) as Job).getState()) === 'failed',
      10_000,
      'the stuck job to time out',
    );
    // The processor did not stop when asked: its process leaves and a fresh one takes the slot.
    const replaced = await waitFor(
      async () => {
        const [row] = await rowsOfQueue(names.timeout);
        return row && row.status === 'running' && row.pid !== before!.pid ? row : undefined;
      },
      15_000,
      'a fresh process in the slot',
    );
    expect(replaced.worker_id).toBe(before!.worker_id);
    expect(replaced.restarts).toBe(before!.restarts + 1);
  });

  it('memory: a process over its limit is restarted between jobs, its job finished', async () => {
    const [before] = await rowsOfQueue(names.memory);
    const job = await queues.memory.add('any', { ms: 300, label: 'memory' });
    await waitFor(async () => (await job.getState()) === 'completed', 10_000, 'the job to complete');
    const finished = (await queues.memory.getJob(job.id!)) as Job;
    expect(finished.returnvalue).toMatchObject({ ok: true, pid: before!.pid });
    const after = await waitFor(
      async () => {
        const [row] = await rowsOfQueue(names.memory);
        return row && row.pid !== before!.pid && row.status === 'running' ? row : undefined;
      },
      15_000,
      'the restarted process',
    );
    expect(after.worker_id).toBe(before!.worker_id);
    expect(after.restarts).toBeGreaterThanOrEqual(1);
  });

  it('auto balancing scales up to maxProcesses under load and back to minProcesses when idle', async () => {
    await queues.auto.addBulk(Array.from({ length: 300 }, () => ({ name: 'work', data: { ms: 200 } })));
    const upAt = Date.now();
    await waitFor(
      async () => (await rowsOfQueue(names.auto)).filter((w) => w.status === 'running').length === 3,
      20_000,
      'three processes',
    );
    console.log(`auto balancing reached 3 processes in ${Date.now() - upAt} ms`);
    await queues.auto.drain();
    const downAt = Date.now();
    await waitFor(
      async () => {
        // Rows of processes scaled away stay, as stopped.
        const rows = await rowsOfQueue(names.auto);
        const live = rows.filter((w) => w.status !== 'stopped');
        return live.length === 1 && live[0]?.status === 'running';
      },
      20_000,
      'one process again',
    );
    console.log(`auto balancing went back to 1 process in ${Date.now() - downAt} ms`);
  });

  it("runs jobs of BullMQ's Postgres backend, recorded like any other", async () => {
    const job = await queues.postgres.add('on-postgres', { label: 'pg' });
    const row = await waitFor(
      async () =>
        rowsOf<{ status: string; worker_id: string }>(
          await db.execute(sql`
            select status, worker_id from watchtower_jobs
            where connection = 'queues-on-postgres' and queue = ${names.postgres} and job_id = ${String(job.id)}`),
        ).find((r) => r.status === 'completed'),
      15_000,
      'the Postgres-backed job to be recorded as completed',
    );
    const [worker] = await rowsOfQueue(names.postgres);
    expect(row.worker_id).toBe(worker!.worker_id);
  });
});
