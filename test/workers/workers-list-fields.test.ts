import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { Worker } from '../../functions/queries/workers';
import { adminHeaders, call } from './support/api';
import { openTestDatabase } from './support/database';
import { type Fleet, job, Seed, seedFleet } from './support/seed';

/**
 * What the Workers page needs of GET /api/workers besides the basics. It links a worker's current job to its page (/jobs/<row id>): the list gives the
 * row id of the newest recorded job of that BullMQ id in the worker's own queue and connection.
 * And it hides the rows a host no longer lists (a worker process removed by a scale down keeps its
 * last row, `stopped`): `inLastHeartbeat` says whether the host's latest heartbeat listed it.
 */
let database: NeonDatabaseHandle;
let seed: Seed;
let fleet: Fleet;

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  fleet = await seedFleet(seed, 'current-job');
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function workersOfFleet(path = `/api/workers?host=${fleet.hostId}`): Promise<Worker[]> {
  const response = await call(path, { headers: adminHeaders() });
  expect(response.status).toBe(200);
  return (await response.json<{ workers: Worker[] }>()).workers;
}

describe('GET /api/workers: the current job', () => {
  it('is null until the job is recorded', async () => {
    const running = (await workersOfFleet()).find((worker) => worker.workerId === fleet.running);
    expect(running).toMatchObject({ currentJob: 'job-42', currentJobRowId: null });
  });

  it("is the newest job of that id in the worker's queue and connection, never another queue's", async () => {
    const [older, newer, otherQueue, otherConnection] = await seed.jobs([
      job(fleet.queue, 'job-42', { connection: fleet.connection, secondsAgo: 600 }),
      job(fleet.queue, 'job-42', { connection: fleet.connection, secondsAgo: 5, status: 'processing' }),
      job(`${fleet.queue}-other`, 'job-42', { connection: fleet.connection, secondsAgo: 1 }),
      job(fleet.queue, 'job-42', { connection: `${fleet.connection}-other`, secondsAgo: 1 }),
    ]);
    expect(older && newer && otherQueue && otherConnection).toBeTruthy();
    const workers = await workersOfFleet();
    expect(workers.find((worker) => worker.workerId === fleet.running)).toMatchObject({
      currentJob: 'job-42',
      currentJobRowId: newer?.id,
    });
    // A worker with no current job has no row either.
    expect(workers.find((worker) => worker.workerId === fleet.paused)).toMatchObject({
      currentJob: null,
      currentJobRowId: null,
    });
    // The dashboard poll reads the same statement.
    const poll = await call('/api/poll', { headers: adminHeaders() });
    const body = await poll.json<{ workers: Array<{ workerId: string; currentJobRowId: number | null }> }>();
    expect(body.workers.find((worker) => worker.workerId === fleet.running)?.currentJobRowId).toBe(newer?.id);
  });
});

describe('GET /api/workers: in the last heartbeat', () => {
  it("is true for the workers the host's latest beat wrote, false for one it no longer lists", async () => {
    const removed = `${fleet.running}-removed`;
    await seed.workers([
      {
        workerId: removed,
        hostId: fleet.hostId,
        supervisor: fleet.supervisor,
        connection: fleet.connection,
        queue: fleet.queue,
        pid: 1001,
        status: 'stopped',
        // Written by a beat before the host's latest one.
        lastHeartbeat: new Date(Date.now() - 60_000),
      },
    ]);
    const workers = await workersOfFleet();
    expect(workers.find((worker) => worker.workerId === removed)).toMatchObject({
      status: 'stopped',
      inLastHeartbeat: false,
    });
    // The fleet's workers were written after the host row: as a beat writes them, at or after it.
    expect(workers.find((worker) => worker.workerId === fleet.paused)?.inLastHeartbeat).toBe(true);
  });
});
