import { desc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfigVersion } from '../../core/config/config-version';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog, supervisorConfigs } from '../../drizzle/schema';
import { adminHeaders, bearer, type CreatedToken, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';

interface ConfigBody {
  id: string;
  name: string;
  connection: string;
  queues: string[];
  minProcesses: number;
  maxProcesses: number;
  balance: string;
  concurrency: number;
  timeout: number;
  processors: Record<string, string>;
  labels: string[];
  version: number;
  createdBy: string;
}

let database: NeonDatabaseHandle;
let viewer: CreatedToken;
let operator: CreatedToken;
const prefix = unique('supcfg');
let connection: string;
let connectionId: string;

beforeAll(async () => {
  database = openTestDatabase();
  [viewer, operator] = await Promise.all([createToken('viewer'), createToken('operator')]);
  connection = `${prefix}-redis`;
  const response = await call('/api/connections', {
    method: 'POST',
    headers: adminHeaders(),
    json: { kind: 'redis', name: connection, host: '127.0.0.1', port: 6399 },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  connectionId = (await response.json<{ id: string }>()).id;
});

afterAll(async () => {
  await database.db.execute(sql`delete from watchtower_supervisor_configs where name like ${`${prefix}%`}`);
  await database.db.execute(sql`delete from watchtower_connections where name like ${`${prefix}%`}`);
  await database.close();
});

function name(part: string): string {
  return `${prefix}-${part}`;
}

function body(part: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: name(part), connection, queues: ['emails'], processors: { '*': 'emails.mjs' }, ...extra };
}

async function create(json: Record<string, unknown>, headers = adminHeaders()): Promise<Response> {
  return call('/api/supervisors/configs', { method: 'POST', headers, json });
}

async function created(json: Record<string, unknown>): Promise<ConfigBody> {
  const response = await create(json);
  expect(response.status, await response.clone().text()).toBe(201);
  return response.json<ConfigBody>();
}

async function count(): Promise<number> {
  const rows = await database.db
    .select({ id: supervisorConfigs.id })
    .from(supervisorConfigs)
    .where(sql`${supervisorConfigs.name} like ${`${prefix}%`}`);
  return rows.length;
}

describe('supervisor configurations', () => {
  it('are created, read, changed and deleted by an admin, each change audited and raising the configuration version', async () => {
    const start = await readConfigVersion(database.db);
    const config = await created(
      body('crud', { queues: ['emails', 'sms'], minProcesses: 1, labels: ['web', 'eu', 'eu'] }),
    );
    expect(config).toMatchObject({
      name: name('crud'),
      connection,
      queues: ['emails', 'sms'],
      minProcesses: 1,
      maxProcesses: 2,
      balance: 'simple',
      concurrency: 1,
      timeout: 60,
      labels: ['eu', 'web'],
      version: 1,
    });
    const afterCreate = await readConfigVersion(database.db);
    expect(afterCreate).toBeGreaterThan(start);

    const read = await call(`/api/supervisors/configs/${config.id}`, { headers: bearer(viewer.token) });
    expect(read.status).toBe(200);
    expect((await read.json<ConfigBody>()).name).toBe(name('crud'));
    const list = await call('/api/supervisors/configs?limit=500', { headers: bearer(viewer.token) });
    const page = await list.json<{ configs: ConfigBody[]; configVersion: number }>();
    expect(page.configs.map((c) => c.id)).toContain(config.id);
    expect(page.configVersion).toBeGreaterThanOrEqual(afterCreate);

    const changed = await call(`/api/supervisors/configs/${config.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { maxProcesses: 4, concurrency: 5 },
    });
    expect(changed.status, await changed.clone().text()).toBe(200);
    expect(await changed.json<ConfigBody>()).toMatchObject({ maxProcesses: 4, concurrency: 5, version: 2 });
    const afterUpdate = await readConfigVersion(database.db);
    expect(afterUpdate).toBeGreaterThan(afterCreate);

    const deleted = await call(`/api/supervisors/configs/${config.id}`, {
      method: 'DELETE',
      headers: adminHeaders(),
    });
    expect(deleted.status).toBe(204);
    expect(await readConfigVersion(database.db)).toBeGreaterThan(afterUpdate);
    const gone = await call(`/api/supervisors/configs/${config.id}`, { headers: bearer(viewer.token) });
    expect(gone.status).toBe(404);

    const audit = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, config.id))
      .orderBy(desc(auditLog.id));
    expect(audit.map((row) => row.action)).toEqual([
      'supervisor-configs.delete',
      'supervisor-configs.update',
      'supervisor-configs.create',
    ]);
    expect(audit[1]?.details).toMatchObject({ changes: { maxProcesses: { from: 2, to: 4 } } });
  });

  it('are changed by admins only: viewers and operators read', async () => {
    const before = await count();
    const asViewer = await create(body('viewer'), bearer(viewer.token));
    const asOperator = await create(body('operator'), bearer(operator.token));
    expect(asViewer.status).toBe(403);
    expect(asOperator.status).toBe(403);
    expect(await count()).toBe(before);
    const list = await call('/api/supervisors/configs', { headers: bearer(operator.token) });
    expect(list.status).toBe(200);
  });

  it('refuse processor paths that are absolute or climb out with a clear 400, and change nothing', async () => {
    const before = await count();
    const version = await readConfigVersion(database.db);
    for (const path of ['/usr/lib/evil.mjs', '../outside.mjs', 'jobs/../../x.mjs', 'C:/x.mjs', 'a\\b.mjs']) {
      const response = await create(body('bad-path', { processors: { emails: path } }));
      expect(response.status, path).toBe(400);
      const error = await errorOf(response);
      expect(error.message, path).toMatch(/processors\.emails: must (be relative|stay inside|use \/)/);
    }
    const config = await created(body('good-path', { processors: { emails: 'jobs/emails.mjs' } }));
    const versionAfter = await readConfigVersion(database.db);
    const patched = await call(`/api/supervisors/configs/${config.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { processors: { emails: '../../etc/x.mjs' } },
    });
    expect(patched.status).toBe(400);
    expect(await count()).toBe(before + 1);
    expect(versionAfter).toBe(version + 1);
    expect(await readConfigVersion(database.db)).toBe(versionAfter);
    const [row] = await database.db
      .select()
      .from(supervisorConfigs)
      .where(eq(supervisorConfigs.id, config.id));
    expect(row?.processors).toEqual({ emails: 'jobs/emails.mjs' });
  });

  it('refuse what the host configuration file refuses, naming the field', async () => {
    const before = await count();
    const cases: [Record<string, unknown>, string][] = [
      [
        body('b1', { maxProcesses: 1, minProcesses: 1, queues: ['a', 'b'], processors: { '*': 'x.mjs' } }),
        'maxProcesses: must be at least minProcesses × queues',
      ],
      [body('b2', { concurrency: 0 }), 'concurrency: must be at least 1'],
      [body('b3', { timeout: 24 * 3600 + 1 }), 'timeout: must be at most 86400 seconds'],
      [body('b4', { processors: { other: 'x.mjs' } }), 'processors.other: "other" is not one of the queues'],
      [body('b5', { queues: ['a', 'a'] }), 'lists "a" twice'],
      [body('b6', { labels: ['no spaces'] }), 'labels.0: must be letters'],
      [body('b7', { connection: `${prefix}-missing` }), `connection: no connection named ${prefix}-missing`],
      [body('b8', { balance: 'random' }), 'balance: must be "simple" or "auto"'],
    ];
    for (const [json, message] of cases) {
      const response = await create(json);
      expect(response.status, message).toBe(400);
      expect((await errorOf(response)).message).toContain(message);
    }
    expect(await count()).toBe(before);
    await created(body('dup'));
    const duplicate = await create(body('dup'));
    expect(duplicate.status).toBe(409);
  });

  it('keep their connection from being deleted while they use it', async () => {
    const config = await created(body('uses'));
    const refused = await call(`/api/connections/${connectionId}`, {
      method: 'DELETE',
      headers: adminHeaders(),
    });
    expect(refused.status).toBe(409);
    expect((await errorOf(refused)).message).toContain(`${name('uses')} (kept in the database)`);
    await call(`/api/supervisors/configs/${config.id}`, { method: 'DELETE', headers: adminHeaders() });
  });

  it('raise the configuration version when a connection they may use changes', async () => {
    const version = await readConfigVersion(database.db);
    const response = await call(`/api/connections/${connectionId}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { port: 6398 },
    });
    expect(response.status).toBe(200);
    expect(await readConfigVersion(database.db)).toBeGreaterThan(version);
  });
});
