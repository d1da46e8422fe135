import { desc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import type { ConnectionTestResult } from '../../core/commands/command-types';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog } from '../../drizzle/schema';
import type { CommandResponse } from '../../functions/commands/command-view';
import { pickHostForConnection } from '../../functions/queries/hosts';
import { adminHeaders, bearer, type CreatedToken, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { claimCommand, Seed } from './support/seed';

/**
 * POST /api/connections/{id}/test and /discover: who may, which host gets the command, how the
 * answer comes back, and that bad input changes nothing. A real host carrying them out is
 * test/worker-host/connection-commands.test.ts; here the test answers as the host would.
 */

let database: NeonDatabaseHandle;
let seed: Seed;
let bus: CommandBus;
let operator: CreatedToken;
let viewer: CreatedToken;
let connection: { id: string; name: string };
const usingHost = unique('host-uses-conn');
const otherHost = unique('host-other');
const deadHost = unique('host-dead');

const answer: ConnectionTestResult = {
  ok: true,
  latencyMs: 0.4,
  serverVersion: '7.0.15',
  usedMemoryBytes: 1_048_576,
  maxmemoryPolicy: 'noeviction',
  authenticated: true,
  error: null,
};

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  bus = new DatabaseCommandBus(database.db);
  [operator, viewer] = await Promise.all([createToken('operator'), createToken('viewer')]);
  const created = await call('/api/connections', {
    method: 'POST',
    headers: adminHeaders(),
    json: { kind: 'redis', name: unique('conn-cmd'), host: 'redis.internal', password: 'do not show' },
  });
  expect(created.status).toBe(201);
  connection = await created.json<{ id: string; name: string }>();
  await seed.host({
    hostId: usingHost,
    supervisors: [{ name: unique('sup'), connection: connection.name, queues: ['q'], status: 'running' }],
  });
  await seed.host({ hostId: otherHost, encryptionKey: true });
  await seed.host({ hostId: deadHost, status: 'dead', lastHeartbeat: new Date(Date.now() - 3_600_000) });
});

afterAll(async () => {
  await seed.cleanup();
  await database.db.execute(sql`delete from watchtower_connections where id = ${connection.id}`);
  await database.close();
});

function post(path: string, init: { token?: string; json?: unknown } = {}): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: init.token ? bearer(init.token) : adminHeaders(),
    ...(init.json !== undefined && { json: init.json }),
  });
}

describe('POST /api/connections/{id}/test', () => {
  it('sends connection.test to the host whose supervisors use the connection and waits for its answer', async () => {
    const waiting = post(`/api/connections/${connection.id}/test`, { token: operator.token });
    const claimed = await claimCommand(bus, { kind: 'host', id: usingHost }, { timeoutMs: 10_000 });
    expect(claimed).toMatchObject({ type: 'connection.test', args: { connectionId: connection.id } });
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: answer });
    const response = await waiting;
    expect(response.status).toBe(200);
    const body = await response.json<CommandResponse>();
    expect(body.timedOut).toBeUndefined();
    expect(body.command).toMatchObject({
      status: 'done',
      result: answer,
      target: { kind: 'host', id: usingHost },
    });
    const [audit] = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.commandId, claimed.id))
      .orderBy(desc(auditLog.at))
      .limit(1);
    expect(audit).toMatchObject({
      action: 'connections.test',
      targetType: 'connection',
      targetId: connection.id,
      result: 'accepted',
    });
    expect(JSON.stringify(body)).not.toContain('do not show');
  });

  it('goes to the host named in the body, and answers 202 while it is still open', async () => {
    const response = await post(`/api/connections/${connection.id}/test?wait=0`, {
      json: { hostId: otherHost },
    });
    expect(response.status).toBe(202);
    const body = await response.json<CommandResponse>();
    expect(body.command).toMatchObject({ type: 'connection.test', target: { kind: 'host', id: otherHost } });
    expect(response.headers.get('location')).toBe(`/api/commands/${body.command.id}`);
    const timedOut = await post(`/api/connections/${connection.id}/discover?wait=1`, {
      json: { hostId: otherHost },
    });
    expect(timedOut.status).toBe(202);
    expect(await timedOut.json<CommandResponse>()).toMatchObject({
      timedOut: true,
      command: { type: 'connection.discover', args: { connectionId: connection.id }, status: 'pending' },
    });
    for (const command of await bus.claim({
      claimer: 'test',
      targets: [{ kind: 'host', id: otherHost }],
      limit: 10,
    })) {
      await bus.acknowledge(command.id, command.claimToken, { ok: true, result: {} });
    }
  });

  it('answers a failed discovery with the host error', async () => {
    const waiting = post(`/api/connections/${connection.id}/discover`, { json: { hostId: usingHost } });
    const claimed = await claimCommand(bus, { kind: 'host', id: usingHost }, { timeoutMs: 10_000 });
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: false, error: 'connection refused' });
    const response = await waiting;
    expect(response.status).toBe(200);
    expect((await response.json<CommandResponse>()).command).toMatchObject({
      status: 'failed',
      error: 'connection refused',
    });
  });

  it('refuses viewers, unknown connections and hosts, and dead hosts', async () => {
    for (const verb of ['test', 'discover']) {
      const refused = await post(`/api/connections/${connection.id}/${verb}`, { token: viewer.token });
      expect(refused.status).toBe(403);
      const unknown = await post(`/api/connections/${crypto.randomUUID()}/${verb}`);
      expect(unknown.status).toBe(404);
      expect((await errorOf(unknown)).message).toMatch(/^No connection /);
      const noHost = await post(`/api/connections/${connection.id}/${verb}`, {
        json: { hostId: unique('nope') },
      });
      expect(noHost.status).toBe(404);
      const dead = await post(`/api/connections/${connection.id}/${verb}`, { json: { hostId: deadHost } });
      expect(dead.status).toBe(409);
      expect((await errorOf(dead)).message).toMatch(/is dead/);
    }
    const pending = rowsOf<{ n: number }>(
      await database.db.execute(
        sql`select count(*)::int as n from watchtower_commands where args->>'connectionId' = ${connection.id} and status = 'pending'`,
      ),
    );
    expect(pending[0]?.n).toBe(0);
  });
});

describe('choosing a host', () => {
  /**
   * Inside a transaction that is rolled back, a temporary watchtower_hosts (searched before the
   * real one) holds exactly the hosts of each case, whatever other tests keep live meanwhile.
   */
  async function pickAmong(rows: { id: string; values: string }[], name: string): Promise<string | null> {
    let picked: string | null = null;
    await database.db
      .transaction(async (tx) => {
        await tx.execute(
          sql`create temporary table watchtower_hosts (like public.watchtower_hosts including defaults) on commit drop`,
        );
        for (const row of rows) {
          await tx.execute(
            sql.raw(
              `insert into watchtower_hosts (host_id, hostname, pid, status, supervisors, encryption_key, last_heartbeat) values ('${row.id}', 'h', 1, ${row.values})`,
            ),
          );
        }
        picked = await pickHostForConnection(tx, name);
        throw new Rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Rollback)) throw error;
      });
    return picked;
  }
  class Rollback extends Error {}

  it('prefers a host running a supervisor on the connection, then one with the key, then any live one', async () => {
    const uses = `'[{"name":"s","connection":"c1","status":"running"}]'::jsonb`;
    const other = `'[{"name":"s","connection":"c2","status":"running"}]'::jsonb`;
    expect(
      await pickAmong(
        [
          { id: 'newest', values: `'running', '[]', true, now()` },
          { id: 'uses', values: `'running', ${uses}, null, now() - interval '5 seconds'` },
          { id: 'dead-user', values: `'dead', ${uses}, true, now()` },
        ],
        'c1',
      ),
    ).toBe('uses');
    expect(
      await pickAmong(
        [
          { id: 'no-key', values: `'running', ${other}, false, now()` },
          { id: 'key', values: `'running', '[]', true, now() - interval '5 seconds'` },
        ],
        'c1',
      ),
    ).toBe('key');
    expect(
      await pickAmong(
        [
          { id: 'older', values: `'running', '[]', null, now() - interval '5 seconds'` },
          { id: 'newer', values: `'running', '[]', null, now()` },
          { id: 'stopped', values: `'stopped', '[]', true, now()` },
        ],
        'c1',
      ),
    ).toBe('newer');
    expect(await pickAmong([{ id: 'gone', values: `'dead', ${uses}, true, now()` }], 'c1')).toBeNull();
  });
});

describe('bad input on the connection command routes', () => {
  it('answers every fuzzed request with a 4xx and changes nothing', async () => {
    await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_commands', 'watchtower_audit_log'],
      watch: [
        {
          label: 'commands about the connection',
          query: sql`select id, status from watchtower_commands where args->>'connectionId' = ${connection.id} order by id`,
        },
      ],
      routes: (['test', 'discover'] as const).map((verb) => ({
        method: 'POST' as const,
        path: `/api/connections/${connection.id}/${verb}`,
        body: { hostId: usingHost },
        freeText: ['hostId'],
        emptyBodyValid: true,
        query: { wait: '0', ttl: '5' },
        idTemplate: `/api/connections/{id}/${verb}`,
      })),
    });
  }, 120_000);
});
