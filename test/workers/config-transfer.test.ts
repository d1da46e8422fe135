import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import { type KeyRing, loadKeyRing, openSecret, sealedKeyId } from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { bearer, type CreatedToken, call, createToken, errorOf, unique } from './support/api';
import {
  type ConfigDocument,
  comparable,
  exportConfig,
  importConfig,
  imported,
  names,
  seedFixture,
  snapshot,
} from './support/config-fixture';
import { openTestDatabase } from './support/database';
import { type PrivateConfig, privateConfig } from './support/private-config';

let database: NeonDatabaseHandle;
let ring: KeyRing;
const schemas: PrivateConfig[] = [];

beforeAll(async () => {
  database = openTestDatabase();
  const loaded = await loadKeyRing({ current: env.WATCHTOWER_ENCRYPTION_KEY });
  if (!loaded) throw new Error('the workerd tests need WATCHTOWER_ENCRYPTION_KEY (test/setup)');
  ring = loaded;
});

afterAll(async () => {
  for (const config of schemas) await config.drop();
  await database.close();
});

async function freshConfig(): Promise<PrivateConfig> {
  const config = await privateConfig(database, 'cfgx');
  schemas.push(config);
  return config;
}

interface SealedRow {
  id: string;
  name: string;
  version: number;
  password_sealed: string | null;
  url_sealed: string | null;
}

async function connectionRows(config: PrivateConfig): Promise<Map<string, SealedRow>> {
  const rows = await config.rows<SealedRow>(
    'select id::text as id, name, version, password_sealed, url_sealed from {schema}.watchtower_connections order by name',
  );
  return new Map(rows.map((row) => [row.name, row]));
}

async function supervisorVersions(config: PrivateConfig): Promise<Record<string, number>> {
  const rows = await config.rows<{ name: string; version: number }>(
    'select name, version from {schema}.watchtower_supervisor_configs order by name',
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.version]));
}

/** The row's secret opened with the key, bound to the row it is in now. */
async function storedSecret(row: SealedRow | undefined): Promise<string | null> {
  if (!row) throw new Error('no such connection');
  if (row.password_sealed) {
    return openSecret(ring, row.password_sealed, connectionSecretContext(row.id, 'password'));
  }
  if (row.url_sealed) return openSecret(ring, row.url_sealed, connectionSecretContext(row.id, 'url'));
  return null;
}

function without(
  document: ConfigDocument,
  kind: 'connections' | 'supervisors',
  name: string,
): ConfigDocument {
  return { ...document, [kind]: document[kind].filter((entry) => entry.name !== name) };
}

describe('configuration export and import', () => {
  it('are for admins only: viewers and operators get 403 and nothing is imported', async () => {
    const tokens: CreatedToken[] = await Promise.all([createToken('viewer'), createToken('operator')]);
    const name = unique('cfgx-role');
    const document = {
      format: 'watchtower-config',
      version: 1,
      connections: [{ kind: 'redis', name, host: '127.0.0.1' }],
      supervisors: [],
    };
    for (const token of tokens) {
      const exported = await call('/api/config/export', { headers: bearer(token.token) });
      expect(exported.status).toBe(403);
      expect((await errorOf(exported)).code).toBe('forbidden');
      const encrypted = await call('/api/config/export?secrets=encrypted', { headers: bearer(token.token) });
      expect(encrypted.status).toBe(403);
      const response = await call('/api/config/import', {
        method: 'POST',
        headers: bearer(token.token),
        json: document,
      });
      expect(response.status).toBe(403);
      expect((await errorOf(response)).code).toBe('forbidden');
    }
    const rows = rowsOf(
      await database.db.execute(sql`select 1 from watchtower_connections where name = ${name}`),
    );
    expect(rows).toHaveLength(0);
    const anonymous = await call('/api/config/export');
    expect(anonymous.status).toBe(401);
  });

  it('round-trips: export with sealed secrets, wipe, import, export again gives the same, the secrets opening under the new rows', async () => {
    const config = await freshConfig();
    const fixture = await seedFixture(config);

    const plain = await exportConfig(config);
    expect(plain.document).toMatchObject({ format: 'watchtower-config', version: 1 });
    expect(plain.document.connections.map((entry) => entry.name).sort()).toEqual(fixture.connections);
    expect(plain.document.supervisors.map((entry) => entry.name).sort()).toEqual(fixture.supervisors);
    for (const entry of plain.document.connections) expect(entry).not.toHaveProperty('secrets');
    // By name, never by id: nothing of the database's identity goes into the document.
    expect(plain.document.supervisors.find((entry) => entry.name === 'emails')).toEqual({
      name: 'emails',
      connection: 'main-redis',
      queues: ['emails', 'sms'],
      minProcesses: 1,
      maxProcesses: 4,
      balance: 'auto',
      concurrency: 1,
      tries: 1,
      timeout: 60,
      memory: 512,
      sleep: 3,
      rest: 0,
      processors: { '*': 'emails.mjs', sms: 'sms/send.mjs' },
      labels: ['eu', 'web'],
    });
    expect(plain.text).not.toMatch(/"id"|"version":\s*[2-9]|createdBy/);

    const sealed = await exportConfig(config, '?secrets=encrypted');
    for (const secret of Object.values(fixture.secrets)) expect(sealed.text).not.toContain(secret);
    expect(sealed.text).not.toContain('pg-secret');
    const secretsOf = (name: string) =>
      sealed.document.connections.find((entry) => entry.name === name)?.secrets as Record<string, string>;
    expect(Object.keys(secretsOf('main-redis'))).toEqual(['password']);
    expect(Object.keys(secretsOf('queue-db'))).toEqual(['url']);
    expect(secretsOf('sentinel')).toBeUndefined();
    expect(sealedKeyId(secretsOf('cluster').password ?? '')).toBe(ring.current.id);
    // Sealed for the document, not for the row: the value in the database is not what was exported.
    const before = await connectionRows(config);
    expect(secretsOf('main-redis').password).not.toBe(before.get('main-redis')?.password_sealed);

    await config.wipe();
    const restored = await imported(config, sealed.document);
    expect(restored).toMatchObject({
      dryRun: false,
      created: names({ connections: fixture.connections, supervisors: fixture.supervisors }),
      updated: names({}),
      unchanged: names({}),
      deleted: names({}),
    });
    const again = await exportConfig(config, '?secrets=encrypted');
    expect(comparable(again.document)).toEqual(comparable(sealed.document));
    expect(comparable((await exportConfig(config)).document)).toEqual(comparable(plain.document));

    // New rows, new ids, and each secret sealed bound to its new row opens to what it was.
    const after = await connectionRows(config);
    expect(after.get('main-redis')?.id).not.toBe(before.get('main-redis')?.id);
    for (const [name, secret] of Object.entries(fixture.secrets)) {
      expect(await storedSecret(after.get(name))).toBe(secret);
    }
    expect(await storedSecret(after.get('sentinel'))).toBeNull();

    // The same document again changes nothing: no row's version, not the configuration's.
    const version = await config.configVersion();
    const same = await imported(config, again.document);
    expect(same.unchanged).toEqual(
      names({ connections: fixture.connections, supervisors: fixture.supervisors }),
    );
    expect([same.created, same.updated, same.deleted]).toEqual([names({}), names({}), names({})]);
    expect(same.configVersion).toBe(version);
    expect(await config.configVersion()).toBe(version);
    expect([...(await connectionRows(config)).values()].map((row) => row.version)).toEqual(
      fixture.connections.map(() => 1),
    );
    // Nor does the export without secrets: a connection left without them keeps its own.
    const kept = await imported(config, plain.document);
    expect(kept.unchanged.connections).toEqual(fixture.connections);
    expect(await storedSecret((await connectionRows(config)).get('main-redis'))).toBe(
      fixture.secrets['main-redis'],
    );
  });

  it('writes only what differs, keeps secrets left out, and records one audit entry and one version raise', async () => {
    const config = await freshConfig();
    const fixture = await seedFixture(config);
    const { document } = await exportConfig(config);
    const edited: ConfigDocument = {
      ...document,
      connections: [
        ...document.connections.map((entry) =>
          entry.name === 'main-redis' ? { ...entry, host: 'redis-2.internal' } : entry,
        ),
        { kind: 'redis-cluster', name: 'new-cluster', nodes: [{ host: 'n.internal', port: 7000 }] },
      ],
      supervisors: [
        ...document.supervisors.map((entry) =>
          entry.name === 'emails' ? { ...entry, concurrency: 5 } : entry,
        ),
        {
          name: 'new-work',
          connection: 'new-cluster',
          queues: ['new'],
          processors: { new: 'new.mjs' },
        },
      ],
    };
    const version = await config.configVersion();
    const auditBefore = await config.rows<{ id: number }>('select id from {schema}.watchtower_audit_log');

    const answer = await imported(config, edited);
    expect(answer).toMatchObject({
      created: names({ connections: ['new-cluster'], supervisors: ['new-work'] }),
      updated: names({ connections: ['main-redis'], supervisors: ['emails'] }),
      unchanged: names({
        connections: fixture.connections.filter((name) => name !== 'main-redis'),
        supervisors: fixture.supervisors.filter((name) => name !== 'emails'),
      }),
      deleted: names({}),
      configVersion: version + 1,
    });
    expect(await config.configVersion()).toBe(version + 1);

    const rows = await connectionRows(config);
    expect(rows.get('main-redis')?.version).toBe(2);
    expect(rows.get('cluster')?.version).toBe(1);
    // Left out of the document: the password stays what it was.
    expect(await storedSecret(rows.get('main-redis'))).toBe(fixture.secrets['main-redis']);
    expect(await supervisorVersions(config)).toEqual({
      'cluster-work': 1,
      emails: 2,
      'new-work': 1,
      reports: 1,
    });
    const read = await config.call('/api/supervisors/configs?limit=10');
    const list = await read.json<{ configs: { name: string; concurrency: number }[] }>();
    expect(list.configs.find((entry) => entry.name === 'emails')?.concurrency).toBe(5);

    const audit = await config.rows<{
      action: string;
      target_type: string;
      details: Record<string, unknown>;
    }>(
      `select action, target_type, details from {schema}.watchtower_audit_log where id not in (${
        auditBefore.map((row) => row.id).join(',') || '0'
      }) order by id`,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'config.import',
      target_type: 'config',
      details: {
        prune: false,
        counts: {
          created: { connections: 1, supervisors: 1 },
          updated: { connections: 1, supervisors: 1 },
          unchanged: { connections: 4, supervisors: 2 },
          deleted: { connections: 0, supervisors: 0 },
        },
        configVersion: version + 1,
      },
    });
  });

  it('dry run answers what would change and changes nothing', async () => {
    const config = await freshConfig();
    await seedFixture(config);
    const { document } = await exportConfig(config);
    const edited = without(
      {
        ...document,
        supervisors: document.supervisors.map((entry) =>
          entry.name === 'cluster-work' ? { ...entry, tries: 9 } : entry,
        ),
      },
      'connections',
      'plain-redis',
    );
    const before = await snapshot(config);
    const answer = await imported(config, edited, '?dryRun=true&prune=true');
    expect(answer).toMatchObject({
      dryRun: true,
      created: names({}),
      updated: names({ supervisors: ['cluster-work'] }),
      deleted: names({ connections: ['plain-redis'] }),
    });
    expect(await snapshot(config)).toEqual(before);
    // A dry run of a prune that would fail fails the same way, still changing nothing.
    const refused = await importConfig(
      config,
      without(document, 'connections', 'main-redis'),
      '?dryRun=true&prune=true',
    );
    expect(refused.status).toBe(409);
    expect(await snapshot(config)).toEqual(before);
  });

  it('prunes only when asked, and refuses with 409 (nothing changed) to prune a connection a staying supervisor uses', async () => {
    const config = await freshConfig();
    const fixture = await seedFixture(config);
    const { document } = await exportConfig(config);
    const smaller = without(
      without(without(document, 'supervisors', 'reports'), 'connections', 'queue-db'),
      'connections',
      'plain-redis',
    );

    // Without prune, what the document lacks stays.
    const kept = await imported(config, smaller);
    expect(kept.deleted).toEqual(names({}));
    expect((await connectionRows(config)).size).toBe(fixture.connections.length);

    const version = await config.configVersion();
    const pruned = await imported(config, smaller, '?prune=true');
    expect(pruned.deleted).toEqual(
      names({ connections: ['plain-redis', 'queue-db'], supervisors: ['reports'] }),
    );
    expect(pruned.unchanged.supervisors).toEqual(['cluster-work', 'emails']);
    expect(await config.configVersion()).toBe(version + 1);
    expect([...(await connectionRows(config)).keys()].sort()).toEqual(['cluster', 'main-redis', 'sentinel']);
    expect(Object.keys(await supervisorVersions(config))).toEqual(['cluster-work', 'emails']);

    // main-redis is left out but emails, which uses it, stays: refused, and nothing changes.
    const before = await snapshot(config);
    const refused = await importConfig(
      config,
      without(without(smaller, 'connections', 'main-redis'), 'supervisors', 'cluster-work'),
      '?prune=true',
    );
    expect(refused.status).toBe(409);
    const error = await errorOf(refused);
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('main-redis');
    expect(error.details).toEqual({
      connections: [{ connection: 'main-redis', supervisors: [{ supervisor: 'emails', hostId: null }] }],
    });
    expect(await snapshot(config)).toEqual(before);

    // A live host's own file runs a supervisor on sentinel: pruning it is refused the same way.
    const hostId = unique('cfgx-host');
    await config.rows(
      `insert into {schema}.watchtower_hosts (host_id, hostname, pid, supervisors) values ('${hostId}', 'test', 1, '[{"name":"from-file","connection":"sentinel","queues":["q"]}]'::jsonb) returning host_id`,
    );
    const fromFile = await importConfig(config, without(smaller, 'connections', 'sentinel'), '?prune=true');
    expect(fromFile.status).toBe(409);
    expect((await errorOf(fromFile)).details).toEqual({
      connections: [{ connection: 'sentinel', supervisors: [{ supervisor: 'from-file', hostId }] }],
    });
    expect((await connectionRows(config)).has('sentinel')).toBe(true);
  });

  it('answers 503 and changes nothing while another change holds the connections, and goes through once it is done', async () => {
    const config = await freshConfig();
    await seedFixture(config);
    const { document } = await exportConfig(config);
    const changed = {
      ...document,
      supervisors: document.supervisors.map((entry) =>
        entry.name === 'emails' ? { ...entry, tries: 4 } : entry,
      ),
    };
    const before = await snapshot(config);
    // A change in progress elsewhere: a connection's row locked, as PATCH /api/connections/{id} does.
    await database.db.transaction(async (tx) => {
      await tx.execute(
        sql.raw(
          `select id from ${config.schema}.watchtower_connections where name = 'main-redis' for update`,
        ),
      );
      const busy = await importConfig(config, changed);
      expect(busy.status).toBe(503);
      expect((await errorOf(busy)).code).toBe('unavailable');
    });
    expect(await snapshot(config)).toEqual(before);
    const answer = await imported(config, changed);
    expect(answer.updated).toEqual(names({ supervisors: ['emails'] }));
  }, 90_000);
});
