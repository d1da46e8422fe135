import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { createUpstashRedisClient } from '../../core/bus/upstash-redis-client';
import { commandProgressKey } from '../../core/commands/command-types';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { CommandResponse } from '../../functions/commands/command-view';
import { adminHeaders, bearer, call, createToken, errorOf } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { claimCommand, type Fleet, Seed, seedFleet } from './support/seed';

let database: NeonDatabaseHandle;
let seed: Seed;
let fleet: Fleet;
let databaseBus: CommandBus;
let redisBus: CommandBus;

const redis = { WATCHTOWER_COMMAND_BUS: 'redis' };

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  fleet = await seedFleet(seed, 'cmd');
  databaseBus = new DatabaseCommandBus(database.db);
  redisBus = new RedisCommandBus(
    createUpstashRedisClient({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! }),
  );
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function post(
  path: string,
  init: { env?: Record<string, string>; json?: unknown } = {},
): Promise<Response> {
  return call(path, { method: 'POST', headers: adminHeaders(), ...init });
}

async function auditOf(commandId: string) {
  return rowsOf<{
    action: string;
    target_type: string;
    target_id: string;
    result: string;
    actor_kind: string;
  }>(
    await database.db.execute(
      sql`select action, target_type, target_id, result, actor_kind from watchtower_audit_log where command_id = ${commandId}`,
    ),
  );
}

describe('a command over HTTP', () => {
  it('answers 202 with the pending command, puts it on the bus and audits it', async () => {
    const response = await post(`/api/workers/${fleet.running}/stop`);
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(response.headers.get('location')).toBe(`/api/commands/${command.id}`);
    expect(command).toMatchObject({
      target: { kind: 'worker', id: fleet.running },
      type: 'worker.stop',
      args: {},
      status: 'pending',
      createdBy: 'bootstrap:bootstrap',
    });
    const stored = await databaseBus.find(command.id);
    expect(stored).toMatchObject({
      type: 'worker.stop',
      target: { kind: 'worker', id: fleet.running },
      status: 'pending',
    });
    expect(await auditOf(command.id)).toEqual([
      {
        action: 'workers.stop',
        target_type: 'worker',
        target_id: fleet.running,
        result: 'accepted',
        actor_kind: 'bootstrap',
      },
    ]);
    // Leave nothing for other tests of this worker.
    const claimed = await claimCommand(databaseBus, { kind: 'worker', id: fleet.running });
    await databaseBus.acknowledge(claimed.id, claimed.claimToken, { ok: true });
  });

  it('with ?wait, answers 200 with the result once the host acknowledged it', async () => {
    const started = Date.now();
    const waiting = post(`/api/workers/${fleet.paused}/resume?wait=10`);
    const claimed = await claimCommand(databaseBus, { kind: 'worker', id: fleet.paused });
    expect(claimed).toMatchObject({ type: 'worker.resume', args: {} });
    await databaseBus.acknowledge(claimed.id, claimed.claimToken, {
      ok: true,
      result: { workerId: fleet.paused, status: 'running', confirmed: true },
    });
    const response = await waiting;
    expect(response.status).toBe(200);
    const body = await response.json<CommandResponse>();
    expect(body.timedOut).toBeUndefined();
    expect(body.command).toMatchObject({
      id: claimed.id,
      status: 'done',
      claimedBy: 'test-host',
      result: { workerId: fleet.paused, status: 'running', confirmed: true },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("with ?wait, answers 200 with the host's error when it failed", async () => {
    const waiting = post(`/api/workers/${fleet.running}/pause?wait=10`);
    const claimed = await claimCommand(databaseBus, { kind: 'worker', id: fleet.running });
    await databaseBus.acknowledge(claimed.id, claimed.claimToken, {
      ok: false,
      error: 'worker is shutting down',
    });
    const response = await waiting;
    expect(response.status).toBe(200);
    expect((await response.json<CommandResponse>()).command).toMatchObject({
      status: 'failed',
      error: 'worker is shutting down',
    });
  });

  it('with ?wait, answers 202 timedOut when no host answered in time, and the command stays open', async () => {
    const response = await post(`/api/workers/${fleet.running}/restart?wait=1`);
    expect(response.status).toBe(202);
    const body = await response.json<CommandResponse>();
    expect(body.timedOut).toBe(true);
    expect(body.command.status).toBe('pending');
    // Its status is readable, and waiting on it again picks up the answer.
    const status = await call(`/api/commands/${body.command.id}`, { headers: adminHeaders() });
    expect(status.status).toBe(200);
    expect((await status.json<CommandResponse>()).command.status).toBe('pending');
    const waiting = call(`/api/commands/${body.command.id}/wait?timeout=10`, { headers: adminHeaders() });
    const claimed = await claimCommand(databaseBus, { kind: 'worker', id: fleet.running });
    expect(claimed.id).toBe(body.command.id);
    await databaseBus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { restarted: true } });
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect((await answered.json<CommandResponse>()).command).toMatchObject({
      status: 'done',
      result: { restarted: true },
    });
  });

  it('answers 409 conflict when the command expired before any host claimed it', async () => {
    const response = await post(`/api/workers/${fleet.paused}/stop?ttl=1&wait=4`);
    expect(response.status).toBe(409);
    const error = await errorOf(response);
    expect(error.code).toBe('conflict');
    expect(error.message).toMatch(/expired: no host claimed it/);
    const { command } = error.details as CommandResponse;
    expect(command.status).toBe('expired');
    // It is never handed out late.
    expect(
      await databaseBus.claim({ claimer: 'test-host', targets: [{ kind: 'worker', id: fleet.paused }] }),
    ).toEqual([]);
    const waited = await call(`/api/commands/${command.id}/wait?timeout=1`, { headers: adminHeaders() });
    expect(waited.status).toBe(409);
  });

  it('shows the progress of a bulk command while the host reports it', async () => {
    const response = await post('/api/failed/retry', { json: { filter: { connection: fleet.connection } } });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command.progress).toBeNull();
    const claimed = await claimCommand(databaseBus, { kind: 'connection', id: fleet.connection });
    const progress = {
      processed: 200,
      retried: 190,
      readded: 5,
      deleted: 0,
      skipped: 3,
      failed: 2,
      errors: [],
      complete: false,
    };
    await databaseBus.put(commandProgressKey(claimed.id), progress, 60);
    const status = await call(`/api/commands/${command.id}`, { headers: adminHeaders() });
    expect((await status.json<CommandResponse>()).command).toMatchObject({ status: 'claimed', progress });
    await databaseBus.acknowledge(claimed.id, claimed.claimToken, {
      ok: true,
      result: { ...progress, complete: true },
    });
  });

  it('GET /api/commands/{id}: 404 for an unknown id, 400 for a malformed one', async () => {
    const missing = await call(`/api/commands/${crypto.randomUUID()}`, { headers: adminHeaders() });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    expect(
      (await call(`/api/commands/${crypto.randomUUID()}/wait?timeout=0`, { headers: adminHeaders() })).status,
    ).toBe(404);
    expect((await call('/api/commands/not-a-uuid', { headers: adminHeaders() })).status).toBe(400);
    for (const query of ['timeout=26', 'timeout=-1', 'timeout=abc', 'timeout=1.5', 'wait=3']) {
      const response = await call(`/api/commands/${crypto.randomUUID()}/wait?${query}`, {
        headers: adminHeaders(),
      });
      expect(response.status, query).toBe(400);
    }
  });

  it('refuses bad ?wait and ?ttl values before sending anything', async () => {
    for (const query of ['wait=26', 'wait=-1', 'wait=0x10', 'wait=1e1', 'ttl=0', 'ttl=3601', 'later=1']) {
      const response = await post(`/api/workers/${fleet.running}/stop?${query}`);
      expect(response.status, query).toBe(400);
    }
    expect(
      await databaseBus.claim({ claimer: 'test-host', targets: [{ kind: 'worker', id: fleet.running }] }),
    ).toEqual([]);
  });

  it('lets a viewer read commands but not send them', async () => {
    const viewer = await createToken('viewer');
    const refused = await call(`/api/workers/${fleet.running}/stop`, {
      method: 'POST',
      headers: bearer(viewer.token),
    });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).code).toBe('forbidden');
    expect(
      await databaseBus.claim({ claimer: 'test-host', targets: [{ kind: 'worker', id: fleet.running }] }),
    ).toEqual([]);
    const operator = await createToken('operator');
    const sent = await call(`/api/workers/${fleet.running}/stop`, {
      method: 'POST',
      headers: bearer(operator.token),
    });
    expect(sent.status).toBe(202);
    const { command } = await sent.json<CommandResponse>();
    expect(command.createdBy).toBe(`token:${operator.id}`);
    expect((await call(`/api/commands/${command.id}`, { headers: bearer(viewer.token) })).status).toBe(200);
    expect((await call(`/api/commands/${command.id}`)).status).toBe(401);
    const claimed = await claimCommand(databaseBus, { kind: 'worker', id: fleet.running });
    await databaseBus.acknowledge(claimed.id, claimed.claimToken, { ok: true });
  });
});

describe('a command over HTTP on the redis bus', () => {
  it('with ?wait, answers 200 with the result the host acknowledged through Redis', async () => {
    const waiting = post(`/api/workers/${fleet.running}/pause?wait=10`, { env: redis });
    const claimed = await claimCommand(redisBus, { kind: 'worker', id: fleet.running });
    expect(claimed.type).toBe('worker.pause');
    await redisBus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { status: 'paused' } });
    const response = await waiting;
    expect(response.status).toBe(200);
    expect((await response.json<CommandResponse>()).command).toMatchObject({
      status: 'done',
      result: { status: 'paused' },
    });
    // The database bus never saw it.
    expect(await databaseBus.find(claimed.id)).toBeNull();
    const status = await call(`/api/commands/${claimed.id}`, { headers: adminHeaders(), env: redis });
    expect(status.status).toBe(200);
  });
});

describe('bad input on the commands routes', () => {
  it('answers every fuzzed request with a 4xx and changes nothing', async () => {
    const command = await databaseBus.send({
      target: { kind: 'worker', id: fleet.dead },
      type: 'worker.stop',
      ttl: 60,
    });
    await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_commands', 'watchtower_audit_log'],
      watch: [
        {
          label: 'the command',
          query: sql`select id, status from watchtower_commands where id = ${command.id}`,
        },
      ],
      routes: [
        {
          method: 'GET',
          path: `/api/commands/${command.id}`,
          idTemplate: '/api/commands/{id}',
          idKind: 'uuid',
        },
        {
          method: 'GET',
          path: `/api/commands/${command.id}/wait`,
          query: { timeout: '0' },
          idTemplate: '/api/commands/{id}/wait',
          idKind: 'uuid',
        },
      ],
    });
  });
});
