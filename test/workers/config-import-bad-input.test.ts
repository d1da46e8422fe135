import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { MAX_BODY_BYTES } from '../../functions/app';
import { adminHeaders, errorOf } from './support/api';
import {
  type ConfigDocument,
  exportConfig,
  importConfig,
  seedFixture,
  snapshot,
} from './support/config-fixture';
import { openTestDatabase } from './support/database';
import { type PrivateConfig, privateConfig } from './support/private-config';

/**
 * Hostile import documents: each is refused with 400 listing its problems by JSON path, whatever
 * else the document holds, and nothing changes (not even the parts of it that were fine).
 */

let database: NeonDatabaseHandle;
let config: PrivateConfig;
/** A valid document with sealed secrets, exported from the fixture. */
let valid: ConfigDocument;
let before: unknown;

beforeAll(async () => {
  database = openTestDatabase();
  config = await privateConfig(database, 'cfgbad');
  await seedFixture(config);
  valid = (await exportConfig(config, '?secrets=encrypted')).document;
  before = await snapshot(config);
});

afterAll(async () => {
  await config.drop();
  await database.close();
});

type Path = (string | number)[];

function index(kind: 'connections' | 'supervisors', name: string): number {
  const found = valid[kind].findIndex((entry) => entry.name === name);
  if (found < 0) throw new Error(`no ${name} in the fixture`);
  return found;
}

/** The valid document with one entry changed (a new entry appended with no `name` match). */
function withEntry(
  kind: 'connections' | 'supervisors',
  name: string,
  change: (entry: Record<string, unknown>) => Record<string, unknown>,
): ConfigDocument {
  const copy = structuredClone(valid);
  const at = index(kind, name);
  copy[kind][at] = change(copy[kind][at] ?? {});
  return copy;
}

function appended(
  kind: 'connections' | 'supervisors',
  ...entries: Record<string, unknown>[]
): ConfigDocument {
  const copy = structuredClone(valid);
  copy[kind].push(...entries);
  return copy;
}

function deep(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

interface Variant {
  label: string;
  body: unknown;
  /** Paths the answer must name (a problem at or under each). */
  paths: Path[];
}

function variants(): Variant[] {
  const emails = index('supervisors', 'emails');
  const mainRedis = index('connections', 'main-redis');
  const cluster = index('connections', 'cluster');
  const queueDb = index('connections', 'queue-db');
  const nextConnection = valid.connections.length;
  const nextSupervisor = valid.supervisors.length;
  const sealedOf = (name: string): string => {
    const secrets = valid.connections[index('connections', name)]?.secrets as
      | { password?: string }
      | undefined;
    if (!secrets?.password) throw new Error(`no sealed password for ${name} in the fixture`);
    return secrets.password;
  };
  return [
    { label: 'another format', body: { ...valid, format: 'horizon-config' }, paths: [['format']] },
    { label: 'a future version', body: { ...valid, version: 2 }, paths: [['version']] },
    {
      label: 'no format at all',
      body: { connections: [], supervisors: [] },
      paths: [['format'], ['version']],
    },
    { label: 'an unknown top-level key', body: { ...valid, owner: { isAdmin: true } }, paths: [[]] },
    { label: 'JSON null', body: null, paths: [[]] },
    { label: 'a list instead of a document', body: [valid], paths: [[]] },
    {
      label: 'wrong types at the top',
      body: { ...valid, connections: 'main-redis', supervisors: { emails: {} } },
      paths: [['connections'], ['supervisors']],
    },
    {
      label: 'wrong types in entries',
      body: withEntry('connections', 'main-redis', (entry) => ({ ...entry, port: '6380', tls: 'yes' })),
      paths: [
        ['connections', mainRedis, 'port'],
        ['connections', mainRedis, 'tls'],
      ],
    },
    {
      label: 'two connections of one name',
      body: appended('connections', { kind: 'redis', name: 'main-redis', host: 'other.internal' }),
      paths: [['connections', nextConnection, 'name']],
    },
    {
      label: 'two supervisors of one name',
      body: appended('supervisors', {
        ...valid.supervisors[emails],
        queues: ['other'],
        processors: { '*': 'o.mjs' },
      }),
      paths: [['supervisors', nextSupervisor, 'name']],
    },
    {
      label: 'a supervisor on an unknown connection',
      body: withEntry('supervisors', 'emails', (entry) => ({ ...entry, connection: 'nowhere' })),
      paths: [['supervisors', emails, 'connection']],
    },
    {
      label: 'fields out of bounds',
      body: withEntry('supervisors', 'emails', (entry) => ({
        ...entry,
        concurrency: 0,
        timeout: 86_401,
        minProcesses: 3,
        maxProcesses: 2,
        labels: ['-bad'],
      })),
      paths: [
        ['supervisors', emails, 'concurrency'],
        ['supervisors', emails, 'timeout'],
        ['supervisors', emails, 'labels', 0],
      ],
    },
    {
      label: 'a port out of range and an empty cluster',
      body: appended(
        'connections',
        { kind: 'redis', name: 'bad-port', host: 'h', port: 70_000 },
        { kind: 'redis-cluster', name: 'no-nodes', nodes: [] },
      ),
      paths: [
        ['connections', nextConnection, 'port'],
        ['connections', nextConnection + 1, 'nodes'],
      ],
    },
    {
      label: 'NUL bytes',
      body: appended(
        'supervisors',
        { name: 'nul\u0000name', connection: 'main-redis', queues: ['q'], processors: { q: 'x.mjs' } },
        { name: 'nul-path', connection: 'main-redis', queues: ['q'], processors: { q: 'x\u0000.mjs' } },
      ),
      paths: [
        ['supervisors', nextSupervisor, 'name'],
        ['supervisors', nextSupervisor + 1, 'processors', 'q'],
      ],
    },
    {
      label: 'processor paths out of the directory',
      body: appended(
        'supervisors',
        { name: 'abs', connection: 'main-redis', queues: ['q'], processors: { q: '/etc/passwd.mjs' } },
        { name: 'up', connection: 'main-redis', queues: ['q'], processors: { q: 'a/../../x.mjs' } },
      ),
      paths: [
        ['supervisors', nextSupervisor, 'processors', 'q'],
        ['supervisors', nextSupervisor + 1, 'processors', 'q'],
      ],
    },
    {
      label: 'too many connections',
      body: {
        ...valid,
        connections: Array.from({ length: 501 }, (_, i) => ({ kind: 'redis', name: `c${i}`, host: 'h' })),
      },
      paths: [['connections']],
    },
    {
      label: 'huge arrays inside entries',
      body: appended(
        'supervisors',
        {
          name: 'many-queues',
          connection: 'main-redis',
          queues: Array.from({ length: 2000 }, (_, i) => `q${i}`),
          processors: { '*': 'x.mjs' },
        },
        {
          name: 'many-labels',
          connection: 'main-redis',
          queues: ['q'],
          processors: { '*': 'x.mjs' },
          labels: Array.from({ length: 5000 }, () => 'a'),
        },
      ),
      paths: [
        ['supervisors', nextSupervisor, 'queues'],
        ['supervisors', nextSupervisor + 1, 'labels'],
      ],
    },
    {
      label: 'deep nesting',
      body: {
        ...valid,
        connections: [deep(3000)],
        supervisors: [{ ...valid.supervisors[0], processors: deep(3000) }],
      },
      paths: [
        ['connections', 0],
        ['supervisors', 0, 'processors'],
      ],
    },
    {
      label: 'a password in clear',
      body: withEntry('connections', 'cluster', (entry) => {
        const { secrets: _, ...rest } = entry;
        return { ...rest, password: 'in clear' };
      }),
      paths: [['connections', cluster]],
    },
    {
      label: 'a plain text where a sealed secret goes',
      body: withEntry('connections', 'cluster', (entry) => ({ ...entry, secrets: { password: 'in clear' } })),
      paths: [['connections', cluster, 'secrets', 'password']],
    },
    {
      label: "another connection's sealed secret",
      body: withEntry('connections', 'cluster', (entry) => ({
        ...entry,
        secrets: { password: sealedOf('main-redis') },
      })),
      paths: [['connections', cluster, 'secrets', 'password']],
    },
    {
      label: 'a tampered sealed secret',
      body: withEntry('connections', 'main-redis', (entry) => {
        const sealed = sealedOf('main-redis');
        const last = sealed.at(-1) === 'A' ? 'B' : 'A';
        return { ...entry, secrets: { password: `${sealed.slice(0, -1)}${last}` } };
      }),
      paths: [['connections', mainRedis, 'secrets', 'password']],
    },
    {
      label: 'a password on a postgres connection',
      body: withEntry('connections', 'queue-db', (entry) => ({
        ...entry,
        secrets: { password: sealedOf('cluster') },
      })),
      paths: [['connections', queueDb, 'secrets']],
    },
    {
      label: 'a changed kind',
      body: withEntry('connections', 'cluster', () => ({ kind: 'redis', name: 'cluster', host: 'h' })),
      paths: [['connections', cluster, 'kind']],
    },
    {
      label: 'a new postgres connection without its url',
      body: appended('connections', { kind: 'postgres', name: 'new-db' }),
      paths: [['connections', nextConnection, 'secrets']],
    },
    {
      label: 'prototype keys',
      body: JSON.parse(`{"__proto__":{"isAdmin":true},${JSON.stringify(valid).slice(1)}`) as unknown,
      paths: [[]],
    },
  ];
}

function startsWith(path: Path, prefix: Path): boolean {
  return prefix.every((part, i) => path[i] === part);
}

describe('POST /api/config/import refuses a bad document whole', () => {
  it('answers 400 listing every problem by JSON path, for each hostile variant, and changes nothing', async () => {
    const cases = variants();
    expect(cases.length).toBeGreaterThanOrEqual(10);
    for (const variant of cases) {
      for (const query of ['', '?prune=true']) {
        const response = await importConfig(config, variant.body, query);
        const text = await response.clone().text();
        expect(response.status, `${variant.label}: ${text.slice(0, 500)}`).toBe(400);
        const error = await errorOf(response);
        expect(error.code, variant.label).toBe('bad_request');
        const issues = error.details as { location: string; path: Path; message: string }[];
        expect(Array.isArray(issues), variant.label).toBe(true);
        for (const path of variant.paths) {
          expect(
            issues.some((issue) => issue.location === 'json' && startsWith(issue.path, path)),
            `${variant.label}: a problem at ${JSON.stringify(path)} in ${JSON.stringify(issues).slice(0, 800)}`,
          ).toBe(true);
        }
        // The secrets of a document are never echoed, not even sealed.
        expect(text).not.toContain('"v1.');
      }
    }
    expect(await snapshot(config)).toEqual(before);
  });

  it('lists the problems of every entry at once, not only the first', async () => {
    const copy = structuredClone(valid);
    copy.connections.push({ kind: 'redis', name: 'bad port', host: 'h', port: 0 });
    copy.supervisors.push({ name: 'x', connection: 'missing', queues: ['q'], processors: { q: '../q.mjs' } });
    copy.supervisors.push({ name: 'y', connection: 'main-redis', queues: [], processors: {} });
    const response = await importConfig(config, copy);
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    const paths = (error.details as { path: Path }[]).map((issue) => JSON.stringify(issue.path));
    const c = valid.connections.length;
    const s = valid.supervisors.length;
    expect(paths).toEqual(
      expect.arrayContaining([
        JSON.stringify(['connections', c, 'name']),
        JSON.stringify(['connections', c, 'port']),
        JSON.stringify(['supervisors', s, 'processors', 'q']),
        JSON.stringify(['supervisors', s + 1, 'queues']),
      ]),
    );
    expect(error.message).toMatch(/^Invalid configuration document, nothing was changed: /);
    expect(await snapshot(config)).toEqual(before);
  });

  it(`answers 413 to a body over ${MAX_BODY_BYTES} bytes before reading it, and to bad flags 400`, async () => {
    const huge = { ...valid, supervisors: [{ name: 'x'.repeat(MAX_BODY_BYTES) }] };
    const response = await importConfig(config, huge);
    expect(response.status).toBe(413);
    const error = await errorOf(response);
    expect(error).toEqual({
      code: 'payload_too_large',
      message: `Request body is over ${MAX_BODY_BYTES} bytes`,
    });
    // Without a Content-Length too: the limit counts what is streamed.
    const encoded = new TextEncoder().encode(JSON.stringify(huge));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < encoded.length; at += 64 * 1024)
          controller.enqueue(encoded.slice(at, at + 64 * 1024));
        controller.close();
      },
    });
    const streamed = await config.call('/api/config/import', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: stream,
    });
    expect(streamed.status).toBe(413);
    for (const query of ['?prune=yes', '?dryRun=1', '?prune=TRUE']) {
      const bad = await importConfig(config, valid, query);
      expect(bad.status, query).toBe(400);
    }
    const export_ = await config.call('/api/config/export?secrets=plain');
    expect(export_.status).toBe(400);
    expect(await snapshot(config)).toEqual(before);
  });
});
