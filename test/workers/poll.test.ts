import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { JobSummary } from '../../functions/queries/job-schemas';
import type { JobStats } from '../../functions/queries/job-stats';
import type { Worker } from '../../functions/queries/workers';
import { adminHeaders, bearer, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { claimCommand, type Fleet, job, Seed, seedFleet } from './support/seed';

interface Poll {
  stats: JobStats;
  recentJobs: JobSummary[];
  workers: Array<Omit<Worker, 'heartbeatAgeSeconds'>>;
}

let database: NeonDatabaseHandle;
let seed: Seed;
let fleet: Fleet;
const queue = unique('poll-q');

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  fleet = await seedFleet(seed, 'poll');
  // Queued a day ahead, so that it is the newest job whatever other suites insert meanwhile.
  await seed.jobs([job(queue, 'newest', { status: 'queued', secondsAgo: -86_400 })]);
  await seed.metrics([{ connection: 'default', queue, minutesAgo: 0, completed: 4, failed: 2 }]);
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function poll(headers: Record<string, string> = adminHeaders()): Promise<Response> {
  return call('/api/poll', { headers });
}

describe('GET /api/poll', () => {
  it("answers the seed's stats, the newest jobs and the workers", async () => {
    const response = await poll();
    expect(response.status).toBe(200);
    const body = await response.json<Poll>();
    expect(Object.keys(body.stats).sort()).toEqual(
      [
        'active_workers',
        'completed',
        'completed_last_hour',
        'estimated',
        'failed',
        'failed_last_hour',
        'lower_bound',
        'paused_workers',
        'pending',
        'processing',
        'total_jobs',
      ].sort(),
    );
    expect(body.stats.completed_last_hour).toBeGreaterThanOrEqual(4);
    expect(body.stats.failed_last_hour).toBeGreaterThanOrEqual(2);
    expect(body.stats.active_workers).toBeGreaterThanOrEqual(1);
    expect(body.stats.paused_workers).toBeGreaterThanOrEqual(1);
    expect(body.stats.total_jobs).toBeGreaterThanOrEqual(
      body.stats.pending + body.stats.processing + body.stats.failed,
    );
    expect(body.recentJobs[0]).toMatchObject({ queue, jobId: 'newest', status: 'queued' });
    expect(body.recentJobs.length).toBeLessThanOrEqual(10);
    const times = body.recentJobs.map((row) => Date.parse(row.queuedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const running = body.workers.find((worker) => worker.workerId === fleet.running);
    expect(running).toMatchObject({ status: 'running', currentJob: 'job-42', pending: null });
    expect(running).not.toHaveProperty('heartbeatAgeSeconds');
    expect(body.workers.some((worker) => worker.workerId === fleet.dead)).toBe(false);
  });

  it('answers 304 without a body to an If-None-Match of the current ETag, and a new ETag once something changed', async () => {
    // Other suites write to this database meanwhile: an unchanged snapshot may take a few tries.
    let notModified: Response | undefined;
    let etag = '';
    for (let attempt = 0; attempt < 10 && !notModified; attempt++) {
      const first = await poll();
      etag = first.headers.get('etag') ?? '';
      expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
      await first.arrayBuffer();
      const second = await poll({ ...adminHeaders(), 'if-none-match': etag });
      if (second.status === 304) notModified = second;
      else await second.arrayBuffer();
    }
    expect(notModified?.status).toBe(304);
    expect(await notModified!.text()).toBe('');
    await seed.jobs([job(queue, 'newer-still', { status: 'queued', secondsAgo: -90_000 })]);
    const changed = await poll({ ...adminHeaders(), 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((await changed.json<Poll>()).recentJobs[0]?.jobId).toBe('newer-still');
  });

  it("shows a worker's pending request", async () => {
    const sent = await call(`/api/workers/${fleet.paused}/resume`, {
      method: 'POST',
      headers: adminHeaders(),
    });
    const { command } = await sent.json<{ command: { id: string } }>();
    const body = await (await poll()).json<Poll>();
    expect(body.workers.find((worker) => worker.workerId === fleet.paused)?.pending).toMatchObject({
      commandId: command.id,
      type: 'worker.resume',
      label: 'resuming',
    });
    const bus = new DatabaseCommandBus(database.db);
    const claimed = await claimCommand(bus, { kind: 'worker', id: fleet.paused });
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true });
  });

  it('is readable by a viewer and by no one without credentials', async () => {
    const viewer = await createToken('viewer');
    expect((await poll(bearer(viewer.token))).status).toBe(200);
    expect((await call('/api/poll')).status).toBe(401);
  });
});
