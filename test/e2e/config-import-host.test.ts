import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_CHANNEL } from '../../core/config/supervisor-fields';
import { rowsOf } from '../../core/db/database';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase } from '../../scripts/local-only/services';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';
import {
  type ApiInWorkerd,
  buildWorkerBundle,
  startApiInWorkerd,
  type WorkerBundle,
} from '../support/api-in-workerd';
import { type LocalStack, startLocalStack } from '../support/local-stack';
import {
  cliEnv,
  type HostProcess,
  killAllHosts,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from '../worker-host/harness';

/**
 * A configuration restored from its export, carried out by a real host: a connection to a
 * password-protected Redis and a supervisor on it are made through the Cloudflare Worker (the
 * deployed bundle, in workerd), exported with their secrets sealed, deleted, and imported back.
 * A host started with the same key then runs the supervisor and its jobs on that Redis: the
 * password, sealed for the document and sealed again for the new row, opens where hosts open it.
 *
 * Its own database: the export holds every connection of the database, which here are only these.
 */

const databaseUrl = (() => {
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `${url.pathname}_cfgx`;
  return url.toString();
})();
const adminToken = 'wt_cfgx_admin_0123456789abcdef0123456789';
const key = randomBytes(32).toString('base64');
const password = `restored-redis-${randomBytes(8).toString('hex')}`;
const label = uniqueName('restored')
  .replace(/[^A-Za-z0-9._-]/g, '-')
  .slice(0, 60);
const connectionName = uniqueName('restored-redis');
const supervisorName = uniqueName('restored-sup');
const queueName = uniqueName('restored-q');

const database = createNodeDatabase(databaseUrl, { max: 2 });
const scratch = scratchDir();
let bundle: WorkerBundle;
let stack: LocalStack;
let api: ApiInWorkerd;
let redis: ChildProcess | undefined;
let redisPort = 0;
let queue: Queue | undefined;
let host: HostProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<void> {
  redisPort = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await waitFor(
    async () => {
      const client = new Redis({
        port: redisPort,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        // The password only after it is up: a host without it cannot use this Redis at all.
        await client.config('SET', 'requirepass', password);
        return true;
      } finally {
        client.disconnect();
      }
    },
    10_000,
    'the password-protected redis-server',
  );
}

beforeAll(async () => {
  await ensureDatabase(databaseUrl);
  await migrateDatabase(databaseUrl);
  [bundle, stack] = await Promise.all([
    buildWorkerBundle(),
    startLocalStack({
      relayPort: 0,
      upstashPort: 0,
      upstashToken: testEnv.upstashToken,
      redisUrl: testEnv.redisUrl,
    }),
    startRedis(),
  ]);
  api = await startApiInWorkerd(bundle, {
    DATABASE_URL: databaseUrl,
    WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${stack.relayPort}`,
    WATCHTOWER_ADMIN_TOKEN: adminToken,
    WATCHTOWER_ENCRYPTION_KEY: key,
  });
  // What earlier runs left in this database would be part of the export: start from none.
  await database.db.execute(sql`delete from watchtower_supervisor_configs`);
  await database.db.execute(sql`delete from watchtower_connections`);
}, 120_000);

afterAll(async () => {
  await killAllHosts();
  await queue?.close().catch(() => undefined);
  redis?.kill('SIGKILL');
  await api?.close();
  await stack?.close();
  bundle?.cleanup();
  await database.close();
  scratch.cleanup();
});

/**
 * The NOTIFYs on `watchtower_config` while `action` runs. Counted up to a marker sent after it:
 * Postgres delivers notifications in commit order, so once the marker is in, every NOTIFY of the
 * action (committed before it) is too.
 */
async function notificationsDuring<T>(action: () => Promise<T>): Promise<{ result: T; notified: string[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const payloads: string[] = [];
    client.on('notification', (message) => payloads.push(message.payload ?? ''));
    await client.query(`listen ${CONFIG_CHANNEL}`);
    const result = await action();
    const marker = `marker-${randomBytes(4).toString('hex')}`;
    await database.db.execute(sql`select pg_notify(${CONFIG_CHANNEL}, ${marker})`);
    await waitFor(() => payloads.includes(marker), 10_000, 'the marker notification');
    return { result, notified: payloads.filter((payload) => payload !== marker) };
  } finally {
    await client.end();
  }
}

async function completed(): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await database.db.execute(
      sql`select count(*)::int as n from watchtower_jobs where queue = ${queueName} and status = 'completed'`,
    ),
  );
  return rows[0]?.n ?? 0;
}

describe('a configuration restored from its export', () => {
  it('is run by a real host, the imported password opening its Redis', async () => {
    const created = await api.request('POST', '/api/connections', {
      kind: 'redis',
      name: connectionName,
      host: '127.0.0.1',
      port: redisPort,
      password,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const supervisor = await api.request('POST', '/api/supervisors/configs', {
      name: supervisorName,
      connection: connectionName,
      queues: [queueName],
      sleep: 0.5,
      processors: { '*': 'run.mjs' },
      labels: [label],
    });
    expect(supervisor.status, JSON.stringify(supervisor.body)).toBe(201);

    const exported = await api.request('GET', '/api/config/export?secrets=encrypted');
    expect(exported.status).toBe(200);
    expect(JSON.stringify(exported.body)).not.toContain(password);
    expect(exported.body.connections).toHaveLength(1);

    // Gone, as after a loss or in a new deployment.
    expect((await api.request('DELETE', `/api/supervisors/configs/${supervisor.body.id}`)).status).toBe(204);
    expect((await api.request('DELETE', `/api/connections/${created.body.id}`)).status).toBe(204);

    const { result: imported, notified } = await notificationsDuring(() =>
      api.request('POST', '/api/config/import', exported.body),
    );
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    // One NOTIFY for the whole import (a connection and a supervisor), with the version it raised.
    expect(notified).toEqual([String(imported.body.configVersion)]);
    expect(imported.body.created).toEqual({ connections: [connectionName], supervisors: [supervisorName] });

    const processorsDir = join(scratch.dir, 'processors');
    mkdirSync(processorsDir);
    writeFileSync(
      join(processorsDir, 'run.mjs'),
      'export default async function run(job) { return { n: job.data?.n ?? null }; }\n',
    );
    const fileQueue = uniqueName('restored-file-q');
    host = await startHost(
      writeConfig(scratch.dir, [{ name: uniqueName('restored-file'), queues: [fileQueue] }]),
      database.db,
      {
        env: cliEnv({ DATABASE_URL: databaseUrl, WATCHTOWER_ENCRYPTION_KEY: key }),
        args: [`--labels=${label}`, `--processors-dir=${processorsDir}`],
      },
    );
    const running = host;
    await waitFor(
      async () =>
        (await workersOf(database.db, running.hostId)).some(
          (worker) => worker.supervisor === supervisorName && worker.status === 'running',
        ),
      60_000,
      'the imported supervisor to run on the host',
    );
    queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redisPort, password } });
    queue.on('error', () => undefined);
    await queue.addBulk(Array.from({ length: 5 }, (_, n) => ({ name: 'job', data: { n } })));
    await waitFor(async () => (await completed()) === 5, 60_000, '5 jobs of the restored Redis completed');

    // Importing the same document again changes nothing the host would have to reload for.
    const { result: again, notified: quiet } = await notificationsDuring(() =>
      api.request('POST', '/api/config/import', exported.body),
    );
    expect(again.status).toBe(200);
    expect(quiet).toEqual([]);
    expect(again.body.unchanged).toEqual({ connections: [connectionName], supervisors: [supervisorName] });
    expect(again.body.configVersion).toBe(imported.body.configVersion);
  }, 180_000);
});
