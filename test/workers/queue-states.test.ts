import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { CommandResponse } from '../../functions/commands/command-view';
import type { Queue } from '../../functions/queries/queues';
import { adminHeaders, bearer, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { claimCommand, type Fleet, job, Seed, seedFleet } from './support/seed';

/**
 * GET /api/queues as the Queues page reads it: each queue's recorded jobs by state (capped, with the
 * lower bounds named), its oldest waiting job, and whether it is paused as a host confirmed it.
 */
let database: NeonDatabaseHandle;
let seed: Seed;
let bus: CommandBus;
let fleet: Fleet;
let busyQueue: string;
const OLDEST_SECONDS = 600;

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  bus = new DatabaseCommandBus(database.db);
  fleet = await seedFleet(seed, 'qstates');
  const on = { connection: fleet.connection };
  await seed.jobs([
    job(fleet.queue, unique('w1'), { ...on, status: 'queued', secondsAgo: OLDEST_SECONDS }),
    job(fleet.queue, unique('w2'), { ...on, status: 'queued', secondsAgo: 30 }),
    job(fleet.queue, unique('w3'), { ...on, status: 'queued', secondsAgo: 5 }),
    job(fleet.queue, unique('d1'), { ...on, status: 'delayed', secondsAgo: 900 }),
    job(fleet.queue, unique('d2'), { ...on, status: 'delayed' }),
    job(fleet.queue, unique('r1'), { ...on, status: 'retrying', secondsAgo: 1200 }),
    job(fleet.queue, unique('p1'), { ...on, status: 'processing', secondsAgo: 2 }),
    job(fleet.queue, unique('c1'), { ...on, status: 'completed', secondsAgo: 3000 }),
    job(fleet.queue, unique('f1'), { ...on, status: 'failed', secondsAgo: 4000 }),
    // The same queue name on another connection is another queue: counted there, not here.
    job(fleet.queue, unique('elsewhere'), {
      connection: unique('other-conn'),
      status: 'queued',
      secondsAgo: 9000,
    }),
  ]);
  // A backlog past the cap, on a queue a rollup makes known.
  busyQueue = unique('backlog');
  await seed.metrics([{ connection: fleet.connection, queue: busyQueue, minutesAgo: 0, queued: 1001 }]);
  await seed.jobs(
    Array.from({ length: 1001 }, (_, index) =>
      job(busyQueue, `b-${index}`, { ...on, status: 'queued', secondsAgo: 100 + index }),
    ),
  );
}, 60_000);

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function queueOf(name: string, headers = adminHeaders()): Promise<Queue> {
  const response = await call('/api/queues', { headers });
  expect(response.status).toBe(200);
  const queue = (await response.json<{ queues: Queue[] }>()).queues.find(
    (q) => q.queue === name && q.connection === fleet.connection,
  );
  if (!queue) throw new Error(`queue ${name} is not listed`);
  return queue;
}

/** Sends a pause or resume and answers it as a host would, with `answer`. */
async function sendAndAnswer(
  verb: 'pause' | 'resume',
  answer: { ok: true; result: unknown } | { ok: false; error: string },
): Promise<string> {
  const response = await call(`/api/queues/${encodeURIComponent(fleet.queue)}/${verb}?wait=0`, {
    method: 'POST',
    headers: adminHeaders(),
    json: { connection: fleet.connection },
  });
  expect(response.status).toBe(202);
  const { command } = await response.json<CommandResponse>();
  const claimed = await claimCommand(bus, { kind: 'connection', id: fleet.connection });
  expect(claimed.id).toBe(command.id);
  await bus.acknowledge(claimed.id, claimed.claimToken, answer);
  return command.id;
}

describe('GET /api/queues: jobs by state and oldest wait', () => {
  it("counts the queue's recorded jobs by state, on its own connection only", async () => {
    const queue = await queueOf(fleet.queue);
    expect(queue.states).toEqual({ waiting: 3, delayed: 2, retrying: 1 });
    expect(queue.lowerBound).toEqual([]);
    expect(queue.processing).toBe(1);
    // The longest-waiting queued job, not a delayed or retrying one queued earlier.
    const age = (Date.now() - Date.parse(queue.oldestWaitingAt ?? '')) / 1000;
    expect(age).toBeGreaterThan(OLDEST_SECONDS - 5);
    expect(age).toBeLessThan(OLDEST_SECONDS + 120);
  });

  it('stops counting at the cap and says the count is a lower bound', async () => {
    const queue = await queueOf(busyQueue);
    expect(queue.states).toEqual({ waiting: 1000, delayed: 0, retrying: 0 });
    expect(queue.lowerBound).toEqual(['waiting']);
    const age = (Date.now() - Date.parse(queue.oldestWaitingAt ?? '')) / 1000;
    expect(age).toBeGreaterThan(1100 - 5);
  });

  it('answers an unchanged list with 304 to its ETag, and is readable by a viewer', async () => {
    const viewer = await createToken('viewer');
    const first = await call('/api/queues', { headers: bearer(viewer.token) });
    expect(first.status).toBe(200);
    const tag = first.headers.get('etag');
    expect(tag).toBeTruthy();
    await first.arrayBuffer();
    const again = await call('/api/queues', {
      headers: { ...bearer(viewer.token), 'if-none-match': tag ?? '' },
    });
    expect(again.status).toBe(304);
    expect((await call('/api/queues')).status).toBe(401);
  });
});

describe('GET /api/queues: paused as a host confirmed it', () => {
  it('is unknown until a host has answered a pause or resume', async () => {
    const queue = await queueOf(fleet.queue);
    expect(queue.paused).toBeNull();
    expect(queue.pausedReportedAt).toBeNull();
  });

  it('shows pending, not paused, while no host has answered', async () => {
    const response = await call(`/api/queues/${encodeURIComponent(fleet.queue)}/pause?wait=0`, {
      method: 'POST',
      headers: adminHeaders(),
      json: { connection: fleet.connection },
    });
    expect(response.status).toBe(202);
    const queue = await queueOf(fleet.queue);
    expect(queue.pending).toMatchObject({ type: 'queue.pause', label: 'pausing' });
    expect(queue.paused).toBeNull();
    // Now the host answers it: paused, confirmed.
    const claimed = await claimCommand(bus, { kind: 'connection', id: fleet.connection });
    await bus.acknowledge(claimed.id, claimed.claimToken, {
      ok: true,
      result: { connection: fleet.connection, queue: fleet.queue, paused: true },
    });
    const after = await queueOf(fleet.queue);
    expect(after).toMatchObject({ paused: true, pending: null });
    expect(Date.parse(after.pausedReportedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it("follows the host's newest answer, and a refusal changes nothing", async () => {
    await sendAndAnswer('resume', {
      ok: true,
      result: { connection: fleet.connection, queue: fleet.queue, paused: false },
    });
    expect((await queueOf(fleet.queue)).paused).toBe(false);
    await sendAndAnswer('pause', { ok: false, error: 'Redis is away' });
    expect((await queueOf(fleet.queue)).paused).toBe(false);
    await sendAndAnswer('pause', {
      ok: true,
      result: { connection: fleet.connection, queue: fleet.queue, paused: true },
    });
    expect((await queueOf(fleet.queue)).paused).toBe(true);
    // Another queue's answer is that queue's.
    expect((await queueOf(busyQueue)).paused).toBeNull();
  });

  it('refuses a viewer and bad input with a 4xx, and the confirmed state stays', async () => {
    const before = await queueOf(fleet.queue);
    const commandsBefore = await commandCount();
    const viewer = await createToken('viewer');
    const refused = await call(`/api/queues/${encodeURIComponent(fleet.queue)}/resume`, {
      method: 'POST',
      headers: bearer(viewer.token),
      json: { connection: fleet.connection },
    });
    expect(refused.status).toBe(403);
    for (const json of [
      { connection: 42 },
      { connection: 'a\u0000b' },
      { connection: fleet.connection, extra: 1 },
    ]) {
      const bad = await call(`/api/queues/${encodeURIComponent(fleet.queue)}/resume`, {
        method: 'POST',
        headers: adminHeaders(),
        json,
      });
      expect(bad.status, JSON.stringify(json)).toBeGreaterThanOrEqual(400);
      expect(bad.status, JSON.stringify(json)).toBeLessThan(500);
    }
    const after = await queueOf(fleet.queue);
    expect(after.paused).toBe(before.paused);
    expect(after.pausedReportedAt).toBe(before.pausedReportedAt);
    expect(after.pending).toBeNull();
    expect(await commandCount()).toBe(commandsBefore);
  });
});

async function commandCount(): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await database.db.execute(
      sql`select count(*)::int as n from watchtower_commands where target_id = ${fleet.connection}`,
    ),
  );
  return rows[0]?.n ?? -1;
}
