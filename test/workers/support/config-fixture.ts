import { expect } from 'vitest';
import type { PrivateConfig } from './private-config';

/**
 * A configuration with every kind of connection (with and without secrets) and supervisors on
 * them, created through the CRUD routes in a private schema, and helpers to export and import it.
 */

export interface ConfigDocument {
  format: string;
  version: number;
  exportedAt?: string;
  connections: Record<string, unknown>[];
  supervisors: Record<string, unknown>[];
}

export interface Fixture {
  /** Connection name → its secret in clear (a password, or a Postgres URL). */
  secrets: Record<string, string>;
  connections: string[];
  supervisors: string[];
}

export async function seedFixture(config: PrivateConfig): Promise<Fixture> {
  const token = crypto.randomUUID().slice(0, 8);
  const secrets: Record<string, string> = {
    'main-redis': `redis-password-${token}`,
    cluster: `cluster-password-${token}`,
    'queue-db': `postgres://bullmq:pg-secret-${token}@db.internal:5432/queues`,
  };
  const connections = [
    {
      kind: 'redis',
      name: 'main-redis',
      host: 'redis.internal',
      port: 6380,
      db: 2,
      tls: true,
      username: 'app',
      keyPrefix: 'wt',
      password: secrets['main-redis'],
    },
    {
      kind: 'redis-cluster',
      name: 'cluster',
      nodes: [
        { host: 'node-a.internal', port: 7000 },
        { host: 'node-b.internal', port: 7001 },
      ],
      password: secrets.cluster,
    },
    {
      kind: 'redis-sentinel',
      name: 'sentinel',
      nodes: [{ host: '10.0.0.5', port: 26379 }],
      sentinelName: 'mymaster',
    },
    { kind: 'postgres', name: 'queue-db', url: secrets['queue-db'] },
    { kind: 'redis', name: 'plain-redis', host: '127.0.0.1' },
  ];
  for (const json of connections) {
    const response = await config.call('/api/connections', { method: 'POST', json });
    expect(response.status, await response.clone().text()).toBe(201);
  }
  const supervisors = [
    {
      name: 'emails',
      connection: 'main-redis',
      queues: ['emails', 'sms'],
      minProcesses: 1,
      maxProcesses: 4,
      balance: 'auto',
      processors: { '*': 'emails.mjs', sms: 'sms/send.mjs' },
      labels: ['web', 'eu'],
    },
    {
      name: 'reports',
      connection: 'queue-db',
      queues: ['reports'],
      timeout: 0.5,
      sleep: 1.5,
      rest: 0.25,
      memory: 0,
      processors: { reports: 'jobs/reports.mjs' },
    },
    {
      name: 'cluster-work',
      connection: 'cluster',
      queues: ['a', 'b', 'c'],
      concurrency: 8,
      tries: 3,
      processors: { '*': 'work.mjs' },
    },
  ];
  for (const json of supervisors) {
    const response = await config.call('/api/supervisors/configs', { method: 'POST', json });
    expect(response.status, await response.clone().text()).toBe(201);
  }
  return {
    secrets,
    connections: connections.map((c) => c.name).sort(),
    supervisors: supervisors.map((s) => s.name).sort(),
  };
}

export async function exportConfig(
  config: PrivateConfig,
  query = '',
): Promise<{ document: ConfigDocument; text: string }> {
  const response = await config.call(`/api/config/export${query}`);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return { document: JSON.parse(text) as ConfigDocument, text };
}

export interface ImportAnswer {
  dryRun: boolean;
  created: { connections: string[]; supervisors: string[] };
  updated: { connections: string[]; supervisors: string[] };
  unchanged: { connections: string[]; supervisors: string[] };
  deleted: { connections: string[]; supervisors: string[] };
  configVersion: number;
}

export function importConfig(config: PrivateConfig, document: unknown, query = ''): Promise<Response> {
  return config.call(`/api/config/import${query}`, { method: 'POST', json: document });
}

export async function imported(config: PrivateConfig, document: unknown, query = ''): Promise<ImportAnswer> {
  const response = await importConfig(config, document, query);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const answer = JSON.parse(text) as ImportAnswer;
  for (const names of [answer.created, answer.updated, answer.unchanged, answer.deleted]) {
    names.connections.sort();
    names.supervisors.sort();
  }
  return answer;
}

/** What must survive a round trip: all but the export time, and each secret's presence (every seal differs). */
export function comparable(document: ConfigDocument): unknown {
  const { exportedAt: _, ...rest } = document;
  return {
    ...rest,
    connections: document.connections.map((entry) =>
      entry.secrets
        ? { ...entry, secrets: Object.fromEntries(Object.keys(entry.secrets).map((key) => [key, 'sealed'])) }
        : entry,
    ),
  };
}

export function names(kind: { connections?: string[]; supervisors?: string[] }) {
  return { connections: kind.connections ?? [], supervisors: kind.supervisors ?? [] };
}

/** Everything an import could change: the export, the configuration version and the audit log. */
export async function snapshot(config: PrivateConfig): Promise<unknown> {
  const { document } = await exportConfig(config);
  return {
    document: comparable(document),
    configVersion: await config.configVersion(),
    rows: await config.rows(
      `select c.name, c.version, c.password_sealed, c.url_sealed, c.updated_at from {schema}.watchtower_connections c order by c.name`,
    ),
    supervisors: await config.rows(
      'select name, version, updated_at from {schema}.watchtower_supervisor_configs order by name',
    ),
    audit: await config.rows('select count(*)::int as n from {schema}.watchtower_audit_log'),
  };
}
