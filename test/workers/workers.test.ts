import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { createUpstashRedisClient } from '../../core/bus/upstash-redis-client';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { CommandResponse } from '../../functions/commands/command-view';
import type { Worker } from '../../functions/queries/workers';
import { adminHeaders, bearer, call, createToken, errorOf } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { claimCommand, type Fleet, Seed, seedFleet } from './support/seed';

interface WorkerList {
  workers: Worker[];
  truncated: boolean;
}

let database: NeonDatabaseHandle;
let seed: Seed;
let fleet: Fleet;
let bus: CommandBus;

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  fleet = await seedFleet(seed, 'workers');
  bus = new DatabaseCommandBus(database.db);
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function list(query: string, init: { env?: Record<string, string> } = {}): Promise<WorkerList> {
  const response = await call(`/api/workers?${query}`, { headers: adminHeaders(), ...init });
  expect(response.status).toBe(200);
  return response.json<WorkerList>();
}

async function post(path: string, json?: unknown): Promise<Response> {
  return call(path, { method: 'POST', headers: adminHeaders(), ...(json !== undefined && { json }) });
}

/** Answers every command for `target` the test sent, so none is left for another test. */
async function answer(target: {
  kind: 'worker' | 'host' | 'supervisor' | 'connection';
  id: string;
}): Promise<void> {
  const claimed = await bus.claim({ claimer: 'test-host', targets: [target], limit: 100 });
  for (const command of claimed) await bus.acknowledge(command.id, command.claimToken, { ok: true });
}

describe('GET /api/workers', () => {
  it("lists a host's workers by supervisor with their confirmed status, heartbeat age and current job", async () => {
    const { workers, truncated } = await list(`host=${fleet.hostId}`);
    expect(truncated).toBe(false);
    expect(workers.map((worker) => worker.workerId).sort()).toEqual([fleet.paused, fleet.running].sort());
    const running = workers.find((worker) => worker.workerId === fleet.running)!;
    expect(running).toMatchObject({
      hostId: fleet.hostId,
      hostname: `${fleet.hostId}.test`,
      supervisor: fleet.supervisor,
      queue: fleet.queue,
      connection: fleet.connection,
      status: 'running',
      currentJob: 'job-42',
      jobsProcessed: 7,
      pending: null,
    });
    expect(running.heartbeatAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(running.heartbeatAgeSeconds).toBeLessThan(60);
    expect((await list(`host=${fleet.hostId}&status=dead`)).workers.map((w) => w.workerId)).toEqual([
      fleet.dead,
    ]);
    expect((await list(`supervisor=${fleet.supervisor}&queue=${fleet.queue}`)).workers).toHaveLength(2);
  });

  it('shows the pending request beside the confirmed status until the host answers', async () => {
    const sent = await post(`/api/workers/${fleet.running}/stop`);
    const { command } = await sent.json<CommandResponse>();
    let running = (await list(`host=${fleet.hostId}`)).workers.find((w) => w.workerId === fleet.running)!;
    expect(running.status).toBe('running');
    expect(running.pending).toMatchObject({
      commandId: command.id,
      type: 'worker.stop',
      status: 'pending',
      label: 'stopping',
    });
    const claimed = await claimCommand(bus, { kind: 'worker', id: fleet.running });
    running = (await list(`host=${fleet.hostId}`)).workers.find((w) => w.workerId === fleet.running)!;
    expect(running.pending).toMatchObject({ commandId: command.id, status: 'claimed' });
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { status: 'stopped' } });
    running = (await list(`host=${fleet.hostId}`)).workers.find((w) => w.workerId === fleet.running)!;
    expect(running.pending).toBeNull();
  });

  it('shows a worker command sent to its host with args.workerId too', async () => {
    const command = await bus.send({
      target: { kind: 'host', id: fleet.hostId },
      type: 'worker.pause',
      args: { workerId: fleet.paused },
    });
    const paused = (await list(`host=${fleet.hostId}`)).workers.find((w) => w.workerId === fleet.paused)!;
    expect(paused.pending).toMatchObject({ commandId: command.id, label: 'pausing' });
    await answer({ kind: 'host', id: fleet.hostId });
  });

  it('shows the pending request on the redis bus from the marker the API left', async () => {
    const redis = { WATCHTOWER_COMMAND_BUS: 'redis' };
    const redisBus = new RedisCommandBus(
      createUpstashRedisClient({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! }),
    );
    const sent = await call(`/api/workers/${fleet.paused}/resume`, {
      method: 'POST',
      headers: adminHeaders(),
      env: redis,
    });
    expect(sent.status).toBe(202);
    const { command } = await sent.json<CommandResponse>();
    const before = (await list(`host=${fleet.hostId}`, { env: redis })).workers.find(
      (w) => w.workerId === fleet.paused,
    )!;
    expect(before.pending).toMatchObject({
      commandId: command.id,
      type: 'worker.resume',
      status: 'pending',
      label: 'resuming',
    });
    const claimed = await claimCommand(redisBus, { kind: 'worker', id: fleet.paused });
    await redisBus.acknowledge(claimed.id, claimed.claimToken, { ok: true });
    const after = (await list(`host=${fleet.hostId}`, { env: redis })).workers.find(
      (w) => w.workerId === fleet.paused,
    )!;
    expect(after.pending).toBeNull();
  });

  it('refuses bad filters with 400', async () => {
    for (const query of ['status=sleeping', 'limit=0', 'limit=abc', 'host=has%20space', 'shoe=1']) {
      const response = await call(`/api/workers?${query}`, { headers: adminHeaders() });
      expect(response.status, query).toBe(400);
    }
  });
});

describe('POST /api/workers/{id}/{verb}', () => {
  it('sends worker.stop, pause, resume and restart to the worker, each audited', async () => {
    for (const verb of ['stop', 'pause', 'resume', 'restart']) {
      const response = await post(`/api/workers/${fleet.running}/${verb}`);
      expect(response.status, verb).toBe(202);
      const { command } = await response.json<CommandResponse>();
      expect(command).toMatchObject({
        type: `worker.${verb}`,
        target: { kind: 'worker', id: fleet.running },
        args: {},
      });
      const audit = rowsOf<{ action: string; result: string }>(
        await database.db.execute(
          sql`select action, result from watchtower_audit_log where command_id = ${command.id}`,
        ),
      );
      expect(audit).toEqual([{ action: `workers.${verb}`, result: 'accepted' }]);
    }
    await answer({ kind: 'worker', id: fleet.running });
  });

  it('answers 404 for an unknown worker and 409 for a dead one, sending nothing', async () => {
    const missing = await post('/api/workers/no-such-worker/stop');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    const dead = await post(`/api/workers/${fleet.dead}/restart`);
    expect(dead.status).toBe(409);
    expect((await errorOf(dead)).message).toContain('dead');
    expect(await bus.claim({ claimer: 'test-host', targets: [{ kind: 'worker', id: fleet.dead }] })).toEqual(
      [],
    );
  });

  it('refuses a viewer with 403', async () => {
    const viewer = await createToken('viewer');
    const response = await call(`/api/workers/${fleet.running}/stop`, {
      method: 'POST',
      headers: bearer(viewer.token),
    });
    expect(response.status).toBe(403);
    expect((await call(`/api/workers?host=${fleet.hostId}`, { headers: bearer(viewer.token) })).status).toBe(
      200,
    );
  });
});

describe('POST /api/workers (start)', () => {
  it('sends worker.start to the one supervisor serving the queue', async () => {
    const response = await post('/api/workers', { queue: fleet.queue });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command).toMatchObject({
      type: 'worker.start',
      target: { kind: 'supervisor', id: fleet.supervisor },
      args: { queue: fleet.queue, supervisor: fleet.supervisor },
    });
    await answer({ kind: 'supervisor', id: fleet.supervisor });
  });

  it('sends it to a named host, or a named supervisor', async () => {
    const onHost = await post('/api/workers', { queue: fleet.queue, host: fleet.hostId });
    expect((await onHost.json<CommandResponse>()).command).toMatchObject({
      target: { kind: 'host', id: fleet.hostId },
      args: { queue: fleet.queue },
    });
    const onSupervisor = await post('/api/workers', { queue: 'any-queue', supervisor: fleet.supervisor });
    expect((await onSupervisor.json<CommandResponse>()).command).toMatchObject({
      target: { kind: 'supervisor', id: fleet.supervisor },
      args: { queue: 'any-queue', supervisor: fleet.supervisor },
    });
    await answer({ kind: 'host', id: fleet.hostId });
    await answer({ kind: 'supervisor', id: fleet.supervisor });
  });

  it('answers 409 when no supervisor serves the queue, 404 for an unknown host or supervisor, 400 for a bad body', async () => {
    expect((await post('/api/workers', { queue: `nobody-serves-${crypto.randomUUID()}` })).status).toBe(409);
    expect((await post('/api/workers', { queue: fleet.queue, host: 'no-such-host' })).status).toBe(404);
    expect(
      (await post('/api/workers', { queue: fleet.queue, supervisor: 'no-such-supervisor' })).status,
    ).toBe(404);
    for (const body of [
      {},
      { queue: '' },
      { queue: fleet.queue, extra: 1 },
      { queue: 'a\u0000b' },
      { queue: 7 },
    ]) {
      const response = await post('/api/workers', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe('bad input on the workers routes', () => {
  it('answers every fuzzed request with a 4xx and changes nothing', async () => {
    const report = await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_commands', 'watchtower_audit_log', 'watchtower_workers'],
      watch: [
        {
          label: 'commands for the fleet',
          query: sql`select id, status from watchtower_commands
                     where target_id in (${fleet.running}, ${fleet.paused}, ${fleet.hostId}, ${fleet.supervisor}) order by id`,
        },
      ],
      routes: [
        {
          method: 'GET',
          path: '/api/workers',
          query: {
            host: fleet.hostId,
            status: 'running',
            limit: '10',
            supervisor: fleet.supervisor,
            queue: fleet.queue,
          },
          freeTextQuery: ['queue', 'host', 'supervisor'],
        },
        {
          method: 'POST',
          path: '/api/workers',
          body: { queue: fleet.queue, supervisor: fleet.supervisor },
          freeText: ['queue'],
          query: { wait: '0', ttl: '60' },
        },
        ...['stop', 'pause', 'resume', 'restart'].map((verb) => ({
          method: 'POST' as const,
          path: `/api/workers/${fleet.running}/${verb}`,
          query: { wait: '0', ttl: '60' },
          idTemplate: `/api/workers/{id}/${verb}`,
          idKind: 'text' as const,
        })),
      ],
    });
    expect(report.requests).toBeGreaterThan(100);
  });
});
