import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { CommandResponse } from '../../functions/commands/command-view';
import type { Queue } from '../../functions/queries/queues';
import { adminHeaders, bearer, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { claimCommand, type Fleet, job, Seed, seedFleet } from './support/seed';

let database: NeonDatabaseHandle;
let seed: Seed;
let bus: CommandBus;
let fleet: Fleet;
// A queue name that needs encoding in a path.
const oddQueue = `${unique('emails')} / high priority`;

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  bus = new DatabaseCommandBus(database.db);
  fleet = await seedFleet(seed, 'queues');
  const rollup = { connection: fleet.connection, queue: fleet.queue };
  await seed.metrics([
    {
      ...rollup,
      minutesAgo: 0,
      queued: 10,
      completed: 6,
      failed: 2,
      runMsSum: 800,
      waitMsSum: 400,
      waitMsMax: 120,
      depth: 33,
    },
    {
      ...rollup,
      minutesAgo: 1,
      queued: 10,
      completed: 8,
      failed: 0,
      runMsSum: 800,
      waitMsSum: 400,
      waitMsMax: 90,
      depth: 40,
    },
    // Outside the last hour: counted nowhere here.
    {
      ...rollup,
      minutesAgo: 90,
      queued: 1000,
      completed: 1000,
      failed: 1000,
      runMsSum: 1,
      waitMsSum: 1,
      depth: 99,
    },
    { connection: fleet.connection, queue: oddQueue, minutesAgo: 2, queued: 1 },
  ]);
  await seed.jobs([
    job(fleet.queue, unique('running'), { connection: fleet.connection, status: 'processing' }),
  ]);
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function queues(): Promise<Queue[]> {
  const response = await call('/api/queues', { headers: adminHeaders() });
  expect(response.status).toBe(200);
  return (await response.json<{ queues: Queue[] }>()).queues;
}

describe('GET /api/queues', () => {
  it('shows depth, processing jobs, the last hour and the workers of each queue', async () => {
    const queue = (await queues()).find((q) => q.queue === fleet.queue && q.connection === fleet.connection);
    expect(queue).toMatchObject({
      depth: 33,
      processing: 1,
      lastHour: { queued: 20, completed: 14, failed: 2, avgWaitMs: 50, maxWaitMs: 120, avgRunMs: 100 },
      workers: { total: 2, running: 1, paused: 1 },
      pending: null,
    });
    expect(Date.parse(queue!.depthAt!)).toBeGreaterThan(Date.now() - 120_000);
  });

  it('lists a queue a supervisor is configured for even with no traffic', async () => {
    const other = unique('idle-host');
    await seed.host({
      hostId: other,
      supervisors: [
        {
          name: unique('idle-sup'),
          connection: fleet.connection,
          queues: [`${fleet.queue}-idle`],
          processes: {},
        },
      ],
    });
    const idle = (await queues()).find((q) => q.queue === `${fleet.queue}-idle`);
    expect(idle).toMatchObject({
      connection: fleet.connection,
      depth: null,
      processing: 0,
      lastHour: { completed: 0, avgRunMs: null },
    });
  });
});

describe('POST /api/queues/{queue}/pause and resume', () => {
  it('sends queue.pause to a host that reaches the connection and shows it pending', async () => {
    const response = await call(`/api/queues/${fleet.queue}/pause`, {
      method: 'POST',
      headers: adminHeaders(),
      json: { connection: fleet.connection },
    });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command).toMatchObject({
      type: 'queue.pause',
      target: { kind: 'connection', id: fleet.connection },
      args: { queue: fleet.queue, connection: fleet.connection },
    });
    const queue = (await queues()).find((q) => q.queue === fleet.queue && q.connection === fleet.connection);
    expect(queue?.pending).toMatchObject({ commandId: command.id, type: 'queue.pause', label: 'pausing' });
    const claimed = await claimCommand(bus, { kind: 'connection', id: fleet.connection });
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { paused: true } });
  });

  it('takes a URL-encoded queue name and waits for the answer', async () => {
    const waiting = call(`/api/queues/${encodeURIComponent(oddQueue)}/resume?wait=10`, {
      method: 'POST',
      headers: adminHeaders(),
      json: { connection: fleet.connection },
    });
    const claimed = await claimCommand(bus, { kind: 'connection', id: fleet.connection });
    expect(claimed.args).toEqual({ queue: oddQueue, connection: fleet.connection });
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { paused: false } });
    const response = await waiting;
    expect(response.status).toBe(200);
    expect((await response.json<CommandResponse>()).command.result).toEqual({ paused: false });
  });

  it('answers 404 for a queue Watchtower has never seen on that connection, 403 for a viewer', async () => {
    // No body: the `default` connection, where this queue is unknown.
    expect(
      (await call(`/api/queues/${fleet.queue}/pause`, { method: 'POST', headers: adminHeaders() })).status,
    ).toBe(404);
    const viewer = await createToken('viewer');
    const refused = await call(`/api/queues/${fleet.queue}/pause`, {
      method: 'POST',
      headers: bearer(viewer.token),
      json: { connection: fleet.connection },
    });
    expect(refused.status).toBe(403);
  });

  it('answers every fuzzed request with a 4xx and changes nothing', async () => {
    await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_commands', 'watchtower_audit_log'],
      watch: [
        {
          label: 'commands',
          query: sql`select id, status from watchtower_commands where target_id = ${fleet.connection} order by id`,
        },
      ],
      routes: [
        {
          method: 'POST',
          path: `/api/queues/${fleet.queue}/pause`,
          body: { connection: fleet.connection },
          emptyBodyValid: true,
          query: { wait: '0' },
          idTemplate: '/api/queues/{id}/pause',
          idKind: 'text',
        },
      ],
    });
  });
});
