import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { JobDetail } from '../../functions/queries/job-schemas';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { job, Seed } from './support/seed';

/**
 * GET /api/jobs/{id} names the host of the worker process that ran the job, so the dashboard can
 * link to /workers?host=<hostId>&worker=<workerId>: from the worker's row while it is there, from
 * the attempt that worker ran once the row is pruned.
 */
let database: NeonDatabaseHandle;
let seed: Seed;
const queue = unique('host-q');
const host = unique('host');
const oldHost = unique('old-host');
const liveWorker = unique('worker');
const prunedWorker = unique('gone-worker');
const ids: Record<string, number> = {};

async function detail(id: number, headers = adminHeaders()): Promise<JobDetail> {
  const response = await call(`/api/jobs/${id}`, { headers });
  if (response.status !== 200) throw new Error(`${id}: ${response.status} ${await response.text()}`);
  return response.json<JobDetail>();
}

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  await seed.host({ hostId: host });
  await seed.workers([{ workerId: liveWorker, hostId: host, supervisor: 'sup', queue }]);
  const started = new Date(Date.now() - 20_000);
  const run = { startedAt: started, completedAt: new Date(started.getTime() + 30), runMs: 30 };
  const rows = await seed.jobs([
    job(queue, 'on-live-worker', { ...run, workerId: liveWorker }),
    job(queue, 'on-pruned-worker', { ...run, attempts: 2, workerId: prunedWorker }),
    job(queue, 'never-ran', { status: 'queued', attempts: 0 }),
  ]);
  for (const row of rows) ids[row.jobId] = row.id;
  // The pruned worker's job: a first run elsewhere, then the run on the pruned worker.
  await seed.attempts([
    {
      queue,
      jobId: 'on-pruned-worker',
      attempt: 1,
      status: 'failed',
      workerId: liveWorker,
      hostId: host,
      startedAt: new Date(started.getTime() - 5000),
      finishedAt: new Date(started.getTime() - 4990),
      errorMessage: 'first run',
    },
    {
      queue,
      jobId: 'on-pruned-worker',
      attempt: 2,
      status: 'completed',
      workerId: prunedWorker,
      hostId: oldHost,
      startedAt: started,
      finishedAt: run.completedAt,
    },
  ]);
});

afterAll(async () => {
  await seed?.cleanup();
  await database?.close();
});

describe('the host of a job on GET /api/jobs/{id}', () => {
  it("is the worker's host while the worker is recorded", async () => {
    expect(await detail(ids['on-live-worker']!)).toMatchObject({ workerId: liveWorker, hostId: host });
  });

  it("is the host of that worker's attempt once the worker's row is gone, each attempt with its own", async () => {
    const answer = await detail(ids['on-pruned-worker']!);
    expect(answer).toMatchObject({ workerId: prunedWorker, hostId: oldHost });
    expect(answer.attemptHistory.map((attempt) => [attempt.workerId, attempt.hostId])).toEqual([
      [liveWorker, host],
      [prunedWorker, oldHost],
    ]);
  });

  it('is null for a job no worker ran', async () => {
    expect(await detail(ids['never-ran']!)).toMatchObject({ workerId: null, hostId: null });
  });

  it('answers a viewer, and refuses bad ids and the unauthenticated', async () => {
    const viewer = await createToken('viewer');
    expect((await detail(ids['on-live-worker']!, bearer(viewer.token))).hostId).toBe(host);
    for (const bad of ['abc', '-1', '0', '1.5', '99999999999999999999']) {
      const response = await call(`/api/jobs/${bad}`, { headers: adminHeaders() });
      expect(response.status, bad).toBe(400);
      expect((await errorOf(response)).code).toBe('bad_request');
    }
    expect((await call(`/api/jobs/${ids['on-live-worker']}`)).status).toBe(401);
  });
});
