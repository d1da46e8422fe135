import { env } from 'cloudflare:workers';
import { desc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import {
  type KeyRing,
  loadKeyRing,
  openSecret,
  sealedKeyId,
  sealSecret,
} from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog, connections, hosts } from '../../drizzle/schema';
import { resealSecrets } from '../../functions/housekeeping/reseal-secrets';
import { HOUSEKEEPING_STEPS } from '../../functions/housekeeping/run-housekeeping';
import type { HousekeepingContext } from '../../functions/housekeeping/step';
import { adminHeaders, bearer, type CreatedToken, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';

interface ConnectionBody {
  id: string;
  name: string;
  kind: string;
  host: string | null;
  port: number | null;
  db: number | null;
  tls: boolean;
  username: string | null;
  keyPrefix: string | null;
  nodes: { host: string; port: number }[] | null;
  sentinelName: string | null;
  hasPassword: boolean;
  hasUrl: boolean;
  version: number;
  createdBy: string;
  updatedBy: string;
  lastTest: {
    at: string;
    hostId: string;
    ok: boolean;
    latencyMs: number | null;
    serverVersion: string | null;
    authenticated: boolean | null;
    error: string | null;
  } | null;
}

let database: NeonDatabaseHandle;
let admin: CreatedToken;
let viewer: CreatedToken;
let ring: KeyRing;
const prefix = unique('conn');
const hostIds: string[] = [];

beforeAll(async () => {
  database = openTestDatabase();
  [admin, viewer] = await Promise.all([createToken('admin'), createToken('viewer')]);
  const loaded = await loadKeyRing({ current: env.WATCHTOWER_ENCRYPTION_KEY });
  if (!loaded) throw new Error('the workerd tests need WATCHTOWER_ENCRYPTION_KEY (test/setup)');
  ring = loaded;
});

afterAll(async () => {
  await database.db.execute(sql`delete from watchtower_connections where name like ${`${prefix}%`}`);
  if (hostIds.length > 0)
    await database.db.execute(sql`delete from watchtower_hosts where host_id in ${hostIds}`);
  await database.close();
});

function name(part: string): string {
  return `${prefix}-${part}`;
}

async function create(body: Record<string, unknown>, token = admin.token): Promise<Response> {
  return call('/api/connections', { method: 'POST', headers: bearer(token), json: body });
}

async function created(body: Record<string, unknown>): Promise<ConnectionBody> {
  const response = await create(body);
  expect(response.status, await response.clone().text()).toBe(201);
  return response.json<ConnectionBody>();
}

/** The whole row as Postgres holds it, as text: what a leaked dump would show. */
async function rawRow(id: string): Promise<string> {
  const rows = rowsOf<{ row: string }>(
    await database.db.execute(
      sql`select row_to_json(c)::text as row from watchtower_connections c where id = ${id}`,
    ),
  );
  return rows[0]?.row ?? '';
}

async function row(id: string) {
  const [found] = await database.db.select().from(connections).where(eq(connections.id, id));
  return found ?? null;
}

async function auditOf(id: string) {
  return database.db.select().from(auditLog).where(eq(auditLog.targetId, id)).orderBy(desc(auditLog.id));
}

describe('connections', () => {
  it('are created, read, changed and deleted by an admin, each change audited without its secret', async () => {
    const password = `redis-secret-${crypto.randomUUID()}`;
    const connection = await created({
      kind: 'redis',
      name: name('crud'),
      host: 'redis.internal',
      port: 6380,
      tls: true,
      username: 'app',
      password,
      keyPrefix: 'jobs',
    });
    expect(connection).toMatchObject({
      name: name('crud'),
      kind: 'redis',
      host: 'redis.internal',
      port: 6380,
      db: 0,
      tls: true,
      username: 'app',
      keyPrefix: 'jobs',
      nodes: null,
      hasPassword: true,
      hasUrl: false,
      version: 1,
      createdBy: admin.name,
    });
    expect(JSON.stringify(connection)).not.toContain(password);
    expect(JSON.stringify(connection)).not.toContain('v1.');

    // A viewer reads, one and all; never a secret.
    const one = await call(`/api/connections/${connection.id}`, { headers: bearer(viewer.token) });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(connection);
    const list = await call('/api/connections?limit=500', { headers: bearer(viewer.token) });
    expect(list.status).toBe(200);
    const listText = await list.text();
    expect(listText).not.toContain(password);
    expect(JSON.parse(listText).connections).toContainEqual(connection);

    // In the database: sealed, with the key's id, opening only for this row and field.
    const stored = await row(connection.id);
    expect(stored?.passwordSealed).toMatch(new RegExp(`^v1\\.${ring.current.id}\\.`));
    expect(await rawRow(connection.id)).not.toContain(password);
    expect(
      await openSecret(
        ring,
        stored?.passwordSealed ?? '',
        connectionSecretContext(connection.id, 'password'),
      ),
    ).toBe(password);

    const changed = await call(`/api/connections/${connection.id}`, {
      method: 'PATCH',
      headers: bearer(admin.token),
      json: { port: 6381, username: null },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ port: 6381, username: null, hasPassword: true, version: 2 });
    // Keeping the password keeps its sealed value as it was.
    expect((await row(connection.id))?.passwordSealed).toBe(stored?.passwordSealed);

    const deleted = await call(`/api/connections/${connection.id}`, {
      method: 'DELETE',
      headers: bearer(admin.token),
    });
    expect(deleted.status).toBe(204);
    expect((await call(`/api/connections/${connection.id}`, { headers: adminHeaders() })).status).toBe(404);
    expect(
      (await call(`/api/connections/${connection.id}`, { method: 'DELETE', headers: adminHeaders() })).status,
    ).toBe(404);

    const entries = await auditOf(connection.id);
    expect(entries.map((entry) => entry.action)).toEqual([
      'connections.delete',
      'connections.update',
      'connections.create',
    ]);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        actorKind: 'token',
        actorId: admin.id,
        targetType: 'connection',
        result: 'ok',
      });
    }
    expect(entries[2]?.details).toMatchObject({
      name: name('crud'),
      kind: 'redis',
      host: 'redis.internal',
      password: true,
    });
    expect(entries[1]?.details).toEqual({
      name: name('crud'),
      kind: 'redis',
      version: 2,
      changes: { port: { from: 6380, to: 6381 }, username: { from: 'app', to: null } },
    });
    expect(JSON.stringify(entries)).not.toContain(password);
    expect(JSON.stringify(entries)).not.toContain(stored?.passwordSealed ?? 'none');
  });

  it('show their last test, one and all, and lose it with the connection; config export leaves it out', async () => {
    const good = await created({ kind: 'redis', name: name('tested-a'), host: 'redis.internal' });
    const bad = await created({ kind: 'redis', name: name('tested-b'), host: 'redis.gone' });
    const never = await created({ kind: 'redis', name: name('tested-c'), host: 'redis.new' });
    expect(good.lastTest).toBeNull();
    const fresh = await call(`/api/connections/${good.id}`, { headers: bearer(viewer.token) });
    expect((await fresh.json<ConnectionBody>()).lastTest).toBeNull();

    // As a host writes them (worker-host/commands/connection-test-record.ts).
    await database.db.execute(sql`
      insert into watchtower_connection_tests
        (connection_id, tested_at, host_id, ok, latency_ms, server_version, authenticated, error)
      values
        (${good.id}, '2026-03-01T10:00:00Z', 'host-a', true, 0.42, '7.2.4', true, null),
        (${bad.id}, '2026-03-01T10:05:00Z', 'host-b', false, null, null, false,
         'connection refused by redis.gone:6379: nothing accepts connections there')`);
    const goodTest = {
      at: '2026-03-01T10:00:00.000Z',
      hostId: 'host-a',
      ok: true,
      latencyMs: 0.42,
      serverVersion: '7.2.4',
      authenticated: true,
      error: null,
    };
    const badTest = {
      at: '2026-03-01T10:05:00.000Z',
      hostId: 'host-b',
      ok: false,
      latencyMs: null,
      serverVersion: null,
      authenticated: false,
      error: 'connection refused by redis.gone:6379: nothing accepts connections there',
    };
    const one = await call(`/api/connections/${good.id}`, { headers: bearer(viewer.token) });
    expect(one.status).toBe(200);
    expect((await one.json<ConnectionBody>()).lastTest).toEqual(goodTest);

    // The list reads every page's tests with its connections, each with its own.
    const byName = new Map<string, ConnectionBody>();
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await call(`/api/connections?limit=2${query}`, { headers: bearer(viewer.token) });
      expect(page.status).toBe(200);
      const body = await page.json<{ connections: ConnectionBody[]; nextCursor: string | null }>();
      for (const connection of body.connections) byName.set(connection.name, connection);
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(byName.get(name('tested-a'))?.lastTest).toEqual(goodTest);
    expect(byName.get(name('tested-b'))?.lastTest).toEqual(badTest);
    expect(byName.get(name('tested-c'))?.lastTest).toBeNull();

    // A change keeps it (it says how the server answered, whatever the settings were then).
    const changed = await call(`/api/connections/${good.id}`, {
      method: 'PATCH',
      headers: bearer(admin.token),
      json: { port: 6390 },
    });
    expect(changed.status).toBe(200);
    expect((await changed.json<ConnectionBody>()).lastTest).toEqual(goodTest);

    // Not configuration: the export has the connection, not its test.
    const exported = await call('/api/config/export', { headers: bearer(admin.token) });
    expect(exported.status).toBe(200);
    const document = await exported.json<{ connections: Record<string, unknown>[] }>();
    const entry = document.connections.find((connection) => connection.name === name('tested-a'));
    expect(entry).toMatchObject({ name: name('tested-a'), port: 6390 });
    expect(Object.keys(entry ?? {})).not.toContain('lastTest');
    expect(JSON.stringify(document)).not.toContain('host-a');

    for (const connection of [good, bad, never]) {
      const deleted = await call(`/api/connections/${connection.id}`, {
        method: 'DELETE',
        headers: bearer(admin.token),
      });
      expect(deleted.status).toBe(204);
    }
    const left = rowsOf<{ n: number }>(
      await database.db.execute(
        sql`select count(*)::int as n from watchtower_connection_tests where connection_id in (${good.id}, ${bad.id})`,
      ),
    );
    expect(left[0]?.n).toBe(0);
  });

  it('keep, replace or clear a password on change', async () => {
    const connection = await created({
      kind: 'redis-sentinel',
      name: name('sentinel'),
      nodes: [
        { host: 'sentinel-1', port: 26379 },
        { host: 'sentinel-2', port: 26379 },
      ],
      sentinelName: 'mymaster',
      password: 'first password',
    });
    expect(connection).toMatchObject({ host: null, sentinelName: 'mymaster', db: 0, hasPassword: true });
    const first = (await row(connection.id))?.passwordSealed;
    const patch = (json: Record<string, unknown>) =>
      call(`/api/connections/${connection.id}`, { method: 'PATCH', headers: adminHeaders(), json });

    const kept = await patch({ sentinelName: 'other' });
    expect(await kept.json()).toMatchObject({ hasPassword: true, sentinelName: 'other', version: 2 });
    expect((await row(connection.id))?.passwordSealed).toBe(first);

    const replaced = await patch({ password: 'second password' });
    expect(await replaced.json()).toMatchObject({ hasPassword: true, version: 3 });
    const second = (await row(connection.id))?.passwordSealed ?? '';
    expect(second).not.toBe(first);
    expect(await openSecret(ring, second, connectionSecretContext(connection.id, 'password'))).toBe(
      'second password',
    );
    expect(await rawRow(connection.id)).not.toContain('second password');

    const cleared = await patch({ password: null });
    expect(await cleared.json()).toMatchObject({ hasPassword: false, version: 4 });
    expect((await row(connection.id))?.passwordSealed).toBeNull();

    const [update] = (await auditOf(connection.id)).filter((entry) => entry.action === 'connections.update');
    expect(update?.details).toMatchObject({ changes: { password: 'cleared' } });
    const audited = JSON.stringify(await auditOf(connection.id));
    expect(audited).not.toContain('first password');
    expect(audited).not.toContain('second password');
  });

  it('of every kind: a cluster and a Postgres URL (sealed whole, shown only as hasUrl)', async () => {
    const cluster = await created({
      kind: 'redis-cluster',
      name: name('cluster'),
      nodes: [{ host: '10.0.0.1', port: 7000 }],
    });
    expect(cluster).toMatchObject({
      nodes: [{ host: '10.0.0.1', port: 7000 }],
      hasPassword: false,
      db: null,
    });
    expect((await row(cluster.id))?.passwordSealed).toBeNull();

    const url = `postgres://bullmq:pg-${crypto.randomUUID()}@db.internal:5432/queues`;
    const pg = await created({ kind: 'postgres', name: name('pg'), url });
    expect(pg).toMatchObject({ kind: 'postgres', hasUrl: true, hasPassword: false, host: null });
    expect(JSON.stringify(pg)).not.toContain('db.internal');
    expect(await rawRow(pg.id)).not.toContain(url);
    expect(await rawRow(pg.id)).not.toContain('db.internal');
    const sealed = (await row(pg.id))?.urlSealed ?? '';
    expect(await openSecret(ring, sealed, connectionSecretContext(pg.id, 'url'))).toBe(url);
    // Bound to its row: the same ciphertext does not open as another row's.
    await expect(openSecret(ring, sealed, connectionSecretContext(cluster.id, 'url'))).rejects.toThrow();
  });

  it('are read by a viewer; neither a viewer nor an operator can change them; nothing changes', async () => {
    const connection = await created({ kind: 'redis', name: name('viewer'), host: 'h' });
    const before = await rawRow(connection.id);
    const headers = bearer(viewer.token);
    const operator = await createToken('operator');
    expect((await call('/api/connections')).status).toBe(401);
    expect(
      (await call(`/api/connections/${connection.id}`, { headers: bearer(operator.token) })).status,
    ).toBe(200);
    const attempts = [
      create({ kind: 'redis', name: name('by-viewer'), host: 'h' }, viewer.token),
      create({ kind: 'redis', name: name('by-viewer'), host: 'h' }, operator.token),
      call(`/api/connections/${connection.id}`, { method: 'DELETE', headers: bearer(operator.token) }),
      call(`/api/connections/${connection.id}`, { method: 'PATCH', headers, json: { host: 'x' } }),
      call(`/api/connections/${connection.id}`, { method: 'DELETE', headers }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(403);
      expect((await errorOf(response)).code).toBe('forbidden');
    }
    expect(await rawRow(connection.id)).toBe(before);
    expect(
      await database.db
        .select()
        .from(connections)
        .where(eq(connections.name, name('by-viewer'))),
    ).toEqual([]);
  });

  it('refuse bad input with a 400 that names the field, and change nothing', async () => {
    const connection = await created({
      kind: 'redis',
      name: name('bad'),
      host: 'h',
      password: 'kept password',
    });
    const pg = await created({ kind: 'postgres', name: name('bad-pg'), url: 'postgres://u:p@h/db' });
    const before = [await rawRow(connection.id), await rawRow(pg.id)];
    const creates: [Record<string, unknown>, string][] = [
      [{ kind: 'redis', name: name('no-host') }, 'host'],
      [{ kind: 'redis', name: 'has space', host: 'h' }, 'name'],
      [{ kind: 'redis', name: name('port'), host: 'h', port: 70000 }, 'port'],
      [
        { kind: 'redis-cluster', name: name('cluster-host'), nodes: [{ host: 'a', port: 1 }], host: 'h' },
        'host',
      ],
      [{ kind: 'redis-cluster', name: name('no-nodes'), nodes: [] }, 'nodes'],
      [{ kind: 'redis-sentinel', name: name('no-master'), nodes: [{ host: 'a', port: 1 }] }, 'sentinelName'],
      [{ kind: 'postgres', name: name('pg-password'), url: 'postgres://h/db', password: 'x' }, 'password'],
      [{ kind: 'postgres', name: name('pg-url'), url: 'redis://h' }, 'url'],
      [{ kind: 'memcached', name: name('kind'), host: 'h' }, 'kind'],
      [{ kind: 'redis', name: name('nul'), host: 'h', password: 'a\u0000b' }, 'password'],
    ];
    for (const [body, field] of creates) {
      const response = await create(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe('bad_request');
      expect(JSON.stringify(error.details), JSON.stringify(body)).toContain(field);
      expect(error.message).not.toContain('a\u0000b');
    }
    const patches: [string, Record<string, unknown>, string][] = [
      [connection.id, {}, 'nothing to change'],
      [connection.id, { nodes: [{ host: 'a', port: 1 }] }, 'nodes'],
      [connection.id, { url: 'postgres://h/db' }, 'url'],
      [connection.id, { kind: 'postgres' }, 'kind'],
      [connection.id, { port: 0 }, 'port'],
      [connection.id, { host: null }, 'host'],
      [pg.id, { password: 'x' }, 'password'],
      [pg.id, { username: null }, 'username'],
      [pg.id, { host: 'h' }, 'host'],
    ];
    for (const [id, json, field] of patches) {
      const response = await call(`/api/connections/${id}`, {
        method: 'PATCH',
        headers: adminHeaders(),
        json,
      });
      expect(response.status, JSON.stringify(json)).toBe(400);
      const error = await errorOf(response);
      expect(`${error.message} ${JSON.stringify(error.details)}`, JSON.stringify(json)).toContain(field);
    }
    expect([await rawRow(connection.id), await rawRow(pg.id)]).toEqual(before);
    const made = await database.db.execute(
      sql`select count(*)::int as n from watchtower_connections where name like ${`${prefix}-no-%`} or name like ${`${prefix}-pg-%`} or name = 'has space'`,
    );
    expect(rowsOf<{ n: number }>(made)[0]?.n).toBe(0);
    expect((await auditOf(connection.id)).map((entry) => entry.action)).toEqual(['connections.create']);
  });

  it('apply changes made at the same time one after the other, losing neither', async () => {
    const connection = await created({ kind: 'redis', name: name('race'), host: 'h', port: 6379 });
    const patch = (json: Record<string, unknown>) =>
      call(`/api/connections/${connection.id}`, { method: 'PATCH', headers: adminHeaders(), json });
    const answers = await Promise.all([
      patch({ port: 7000 }),
      patch({ username: 'racer' }),
      patch({ keyPrefix: 'raced' }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(await row(connection.id)).toMatchObject({
      port: 7000,
      username: 'racer',
      keyPrefix: 'raced',
      version: 4,
    });
  });

  it('have unique names: a second one, or a rename onto one, is a 409', async () => {
    const first = await created({ kind: 'redis', name: name('unique-a'), host: 'h' });
    const second = await created({ kind: 'redis', name: name('unique-b'), host: 'h' });
    const again = await create({
      kind: 'redis-cluster',
      name: name('unique-a'),
      nodes: [{ host: 'a', port: 1 }],
    });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).message).toContain(name('unique-a'));
    const rename = await call(`/api/connections/${second.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { name: first.name },
    });
    expect(rename.status).toBe(409);
    expect((await row(second.id))?.name).toBe(name('unique-b'));
  });

  it('refuse a secret without WATCHTOWER_ENCRYPTION_KEY, naming it, and store nothing in clear', async () => {
    const noKey = { WATCHTOWER_ENCRYPTION_KEY: undefined };
    const refused = await call('/api/connections', {
      method: 'POST',
      headers: adminHeaders(),
      json: { kind: 'redis', name: name('nokey'), host: 'h', password: 'never stored' },
      env: noKey,
    });
    expect(refused.status).toBe(500);
    const error = await errorOf(refused);
    expect(error.code).toBe('misconfigured');
    expect(error.message).toContain('WATCHTOWER_ENCRYPTION_KEY is not set');
    expect(
      await database.db
        .select()
        .from(connections)
        .where(eq(connections.name, name('nokey'))),
    ).toEqual([]);

    // Without a secret the key is not needed; a new password is refused the same way.
    const plain = await call('/api/connections', {
      method: 'POST',
      headers: adminHeaders(),
      json: { kind: 'redis', name: name('nokey-plain'), host: 'h' },
      env: noKey,
    });
    expect(plain.status).toBe(201);
    const { id } = await plain.json<ConnectionBody>();
    const before = await rawRow(id);
    const patched = await call(`/api/connections/${id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { password: 'never stored' },
      env: noKey,
    });
    expect(patched.status).toBe(500);
    expect(await rawRow(id)).toBe(before);

    const malformed = await call(`/api/connections/${id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { password: 'never stored' },
      env: { WATCHTOWER_ENCRYPTION_KEY: 'too short' },
    });
    expect(malformed.status).toBe(500);
    // Bad input is a 400 whatever the key: a Postgres connection takes no password.
    const pg = await created({ kind: 'postgres', name: name('nokey-pg'), url: 'postgres://u:p@h/db' });
    const wrongField = await call(`/api/connections/${pg.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { password: 'never stored' },
      env: noKey,
    });
    expect(wrongField.status).toBe(400);
    expect((await errorOf(malformed)).message).toContain(
      'WATCHTOWER_ENCRYPTION_KEY must be the base64 of 32 random bytes',
    );
    expect(await rawRow(id)).toBe(before);
  });

  it('cannot be deleted while a supervisor of a live host uses them', async () => {
    const connection = await created({ kind: 'redis', name: name('in-use'), host: 'h' });
    const hostId = unique('conn-host');
    hostIds.push(hostId);
    await database.db.insert(hosts).values({
      hostId,
      hostname: 'test',
      pid: 1,
      supervisors: [{ name: 'emails', connection: connection.name, queues: ['emails'] }],
    });
    const refused = await call(`/api/connections/${connection.id}`, {
      method: 'DELETE',
      headers: adminHeaders(),
    });
    expect(refused.status).toBe(409);
    const error = await errorOf(refused);
    expect(error.message).toContain(`emails on ${hostId}`);
    expect(await row(connection.id)).not.toBeNull();

    // Once the host is gone, nothing uses it.
    await database.db.update(hosts).set({ status: 'dead' }).where(eq(hosts.hostId, hostId));
    const deleted = await call(`/api/connections/${connection.id}`, {
      method: 'DELETE',
      headers: adminHeaders(),
    });
    expect(deleted.status).toBe(204);
  });
});

function randomKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

async function ringOf(current: string, previous?: string): Promise<KeyRing> {
  const loaded = await loadKeyRing({ current, previous });
  if (!loaded) throw new Error('no key ring');
  return loaded;
}

describe('key rotation by the cron', () => {
  it('re-seals what the previous key sealed with the current one; then the current key alone opens everything', async () => {
    expect(HOUSEKEEPING_STEPS).toContain(resealSecrets);
    const keyA = randomKey();
    const keyB = randomKey();
    const a = await ringOf(keyA);
    const secrets = new Map<string, { field: 'password' | 'url'; value: string }>();
    for (const [index, kind] of (['redis', 'redis-cluster', 'postgres'] as const).entries()) {
      const id = crypto.randomUUID();
      const field = kind === 'postgres' ? 'url' : 'password';
      const value = kind === 'postgres' ? `postgres://u:rot-${index}@h/db` : `rotation secret ${index}`;
      const sealed = await sealSecret(a, value, connectionSecretContext(id, field));
      await database.db.insert(connections).values({
        id,
        name: name(`rotate-${index}`),
        kind,
        host: kind === 'redis' ? 'h' : null,
        nodes: kind === 'redis-cluster' ? [{ host: 'h', port: 7000 }] : null,
        passwordSealed: field === 'password' ? sealed : null,
        urlSealed: field === 'url' ? sealed : null,
        createdBy: 'test:rotation',
        updatedBy: 'test:rotation',
      });
      secrets.set(id, { field, value });
    }
    // A connection sealed with the deployment's key: not the previous key's, so left alone.
    const other = await created({
      kind: 'redis',
      name: name('rotate-other'),
      host: 'h',
      password: 'other secret',
    });
    const otherBefore = await rawRow(other.id);

    const contextWith = (bindings: typeof env): HousekeepingContext => ({
      db: database.db,
      get bus(): never {
        throw new Error('the re-sealing step needs no bus');
      },
      env: bindings,
    });
    const context = contextWith({
      ...env,
      WATCHTOWER_ENCRYPTION_KEY: keyB,
      WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: keyA,
    });
    expect(await resealSecrets.run(context)).toMatch(/^re-sealed 3, left 0/);
    // Idempotent: nothing left to do.
    expect(await resealSecrets.run(context)).toMatch(/^re-sealed 0, left 0/);

    const b = await ringOf(keyB);
    for (const [id, { field, value }] of secrets) {
      const stored = await row(id);
      const sealed = (field === 'password' ? stored?.passwordSealed : stored?.urlSealed) ?? '';
      expect(sealedKeyId(sealed)).toBe(b.current.id);
      expect(await openSecret(b, sealed, connectionSecretContext(id, field))).toBe(value);
      expect(await rawRow(id)).not.toContain(value);
      expect(stored?.version).toBe(1);
    }
    expect(await rawRow(other.id)).toBe(otherBefore);
    // Without a previous key the step has nothing to do.
    expect(await resealSecrets.run(contextWith(env))).toBe('no rotation');
  });
});
