import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bumpConfigVersion } from '../../core/config/config-version';
import { CONFIG_CHANNEL } from '../../core/config/supervisor-fields';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import { loadKeyRing, sealSecret } from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import { connections, supervisorConfigs } from '../../drizzle/schema';
import { PgNotificationListener } from '../../worker-host/bus/pg-notification-listener';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  type HostProcess,
  hostRow,
  killAllHosts,
  openTestDatabase,
  runCli,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/**
 * Supervisors kept in the database, applied live by a real host: a second Redis server
 * started here, with a password the host opens from its sealed column; a host started with labels
 * and a processors directory, whose file knows nothing of that Redis. The configuration is written
 * as the API writes it (row + version + NOTIFY), then changed and deleted while jobs run.
 */

const { db, close } = openTestDatabase();
const scratch = scratchDir();
const processorsDir = join(scratch.dir, 'processors');
const outsideDir = join(scratch.dir, 'outside');
const password = `second-redis-${randomBytes(8).toString('hex')}`;
const key = randomBytes(32).toString('base64');
const prefix = uniqueName('dbsup');
const queueName = `${prefix}-q`;
let redis: ChildProcess | undefined;
let redisUrl = '';
let connectionId = '';
let queue: Queue;
let host: HostProcess;

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

beforeAll(async () => {
  const port = await freePort();
  redis = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
    ],
    {
      stdio: 'ignore',
    },
  );
  redisUrl = `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}/0`;
  await waitFor(
    async () => {
      const client = new Redis(redisUrl, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    10_000,
    'the second redis-server',
  );
  queue = new Queue(queueName, { connection: { url: redisUrl } });
  queue.on('error', () => undefined);

  mkdirSync(processorsDir);
  mkdirSync(outsideDir);
  const processor = `export default async function run(job) {
  await new Promise((resolve) => setTimeout(resolve, job.data?.ms ?? 0));
  return { n: job.data?.n ?? null };
}
`;
  writeFileSync(join(processorsDir, 'run.mjs'), processor);
  writeFileSync(join(outsideDir, 'evil.mjs'), processor);
  // Inside by name, outside once resolved: what realpath must catch.
  symlinkSync(join(outsideDir, 'evil.mjs'), join(processorsDir, 'link.mjs'));

  const ring = await loadKeyRing({ current: key });
  if (!ring) throw new Error('no key ring');
  connectionId = randomUUID();
  await db.insert(connections).values({
    id: connectionId,
    name: `${prefix}-redis`,
    kind: 'redis',
    host: '127.0.0.1',
    port,
    db: 0,
    passwordSealed: await sealSecret(ring, password, connectionSecretContext(connectionId, 'password')),
    createdBy: 'test:db-supervisors',
    updatedBy: 'test:db-supervisors',
  });

  // The file runs one supervisor on the shared Redis, and nothing on the second one.
  const config = writeConfig(scratch.dir, [{ name: `${prefix}-file`, queues: [`${prefix}-file-q`] }]);
  host = await startHost(config, db, {
    env: cliEnv({ WATCHTOWER_ENCRYPTION_KEY: key }),
    args: ['--labels=web,eu', `--processors-dir=${processorsDir}`],
  });
}, 60_000);

afterAll(async () => {
  await killAllHosts();
  await queue?.close().catch(() => undefined);
  redis?.kill('SIGKILL');
  await db.execute(sql`delete from watchtower_supervisor_configs where name like ${`${prefix}%`}`);
  await db.execute(sql`delete from watchtower_connections where id = ${connectionId}`);
  await db.execute(sql`delete from watchtower_jobs where queue = ${queueName}`);
  await close();
  scratch.cleanup();
});

/** As the API writes a change: the row, the version raised and NOTIFY, in one transaction. */
async function change(step: (tx: Parameters<Parameters<typeof db.transaction>[0]>[0]) => Promise<unknown>) {
  await db.transaction(async (tx) => {
    await step(tx);
    await bumpConfigVersion(tx);
  });
}

async function insertConfig(
  name: string,
  values: { processors: Record<string, string>; labels: string[]; queues: string[] },
) {
  const id = randomUUID();
  await change((tx) =>
    tx.insert(supervisorConfigs).values({
      id,
      name,
      connectionId,
      queues: values.queues,
      minProcesses: 1,
      maxProcesses: 1,
      balance: 'simple',
      concurrency: 5,
      tries: 1,
      timeout: 60,
      memory: 512,
      sleep: 0.5,
      rest: 0,
      processors: values.processors,
      labels: values.labels,
      createdBy: 'test:db-supervisors',
      updatedBy: 'test:db-supervisors',
    }),
  );
  return id;
}

async function running(supervisor: string) {
  return (await workersOf(db, host.hostId)).filter(
    (w) => w.supervisor === supervisor && w.status === 'running',
  );
}

async function completed(): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from watchtower_jobs where queue = ${queueName} and status = 'completed'`,
    ),
  );
  return rows[0]?.n ?? 0;
}

describe('supervisors kept in the database', () => {
  it('start on a running host, resize without a restart, and drain on delete without losing a job', async () => {
    const name = `${prefix}-live`;
    const started = Date.now();
    const id = await insertConfig(name, {
      processors: { '*': 'run.mjs' },
      labels: ['web'],
      queues: [queueName],
    });
    await waitFor(async () => (await running(name)).length === 1, 30_000, 'the database supervisor to start');
    // The issue asks for 5 s; shown, not asserted (a loaded machine must not fail the suite).
    console.log(`database supervisor running ${Date.now() - started} ms after its row was committed`);
    await queue.addBulk(Array.from({ length: 10 }, (_, n) => ({ name: 'job', data: { n } })));
    await waitFor(async () => (await completed()) === 10, 30_000, '10 jobs completed and recorded');
    const beat = await waitFor(
      async () => {
        const row = await hostRow(db, host.hostId);
        const configuration = row?.stats.configuration as {
          version: number | null;
          databaseSupervisors: string[];
        };
        return configuration?.databaseSupervisors.includes(name) ? configuration : undefined;
      },
      10_000,
      'the heartbeat to report the configuration version',
    );
    const [{ version } = { version: 0 }] = rowsOf<{ version: number }>(
      await db.execute(sql`select version::int from watchtower_config_version`),
    );
    expect(beat.version).toBeGreaterThan(0);
    expect(beat.version).toBeLessThanOrEqual(version);

    // Resize: two processes, same host process, and the first worker process left alone.
    const [first] = await running(name);
    await change((tx) =>
      tx
        .update(supervisorConfigs)
        .set({ minProcesses: 2, maxProcesses: 2, version: sql`${supervisorConfigs.version} + 1` })
        .where(eq(supervisorConfigs.id, id)),
    );
    const grown = await waitFor(
      async () => {
        const rows = await running(name);
        return rows.length === 2 ? rows : undefined;
      },
      30_000,
      'the pool to grow to 2',
    );
    expect(grown.find((w) => w.worker_id === first?.worker_id)?.pid).toBe(first?.pid);
    expect(host.output).toContain(`"resized":["${name}"]`);
    expect(host.running).toBe(true);
    expect((await hostRow(db, host.hostId))?.status).toBe('running');

    // Delete while every job is running: the supervisor drains, and each one completes.
    await queue.addBulk(
      Array.from({ length: 6 }, (_, n) => ({ name: 'slow', data: { n: 100 + n, ms: 2500 } })),
    );
    await waitFor(async () => (await queue.getActiveCount()) === 6, 20_000, 'the 6 slow jobs to be active');
    await change((tx) => tx.delete(supervisorConfigs).where(eq(supervisorConfigs.id, id)));
    await waitFor(async () => (await running(name)).length === 0, 30_000, 'the supervisor to drain');
    await waitFor(async () => (await completed()) === 16, 30_000, 'all 16 jobs completed and recorded');
    expect(await queue.getJobCounts('waiting', 'active', 'failed', 'completed')).toEqual({
      waiting: 0,
      active: 0,
      failed: 0,
      completed: 16,
    });
    expect(host.output).toContain(`"removed":["${name}"]`);
  }, 60_000);

  it('refuses a processor outside the processors directory, saying so, and runs nothing of it', async () => {
    const name = `${prefix}-outside`;
    const other = `${prefix}-unlabelled`;
    await insertConfig(name, { processors: { '*': 'link.mjs' }, labels: [], queues: [`${queueName}-evil`] });
    // A selector this host's labels do not satisfy: not for it.
    await insertConfig(other, {
      processors: { '*': 'run.mjs' },
      labels: ['gpu'],
      queues: [`${queueName}-gpu`],
    });
    await waitFor(
      () =>
        host.output.includes(
          `supervisor ${name} (database) not started: processor link.mjs of * resolves to`,
        ),
      20_000,
      'the host to log the refusal',
    );
    expect(host.output).toContain('outside the processors directory');
    // A row written around the API, with `..`: the host checks again.
    const climbing = `${prefix}-climbing`;
    await insertConfig(climbing, {
      processors: { '*': '../outside/evil.mjs' },
      labels: ['eu'],
      queues: [`${queueName}-climb`],
    });
    await waitFor(
      () =>
        host.output.includes(
          `supervisor ${climbing} (database) not started: processor "../outside/evil.mjs" of *: must stay inside`,
        ),
      20_000,
      'the host to log the second refusal',
    );
    const row = await waitFor(
      async () => {
        const stats = (await hostRow(db, host.hostId))?.stats.configuration as
          | { refused: { name: string }[] }
          | undefined;
        return stats?.refused.some((r) => r.name === climbing) ? stats : undefined;
      },
      10_000,
      'the heartbeat to report the refusal',
    );
    // Configurations other suites leave in the database may be refused too; only ours matter here.
    const ours = row.refused.map((r) => r.name).filter((n) => n.startsWith(prefix));
    expect(ours.sort()).toEqual([climbing, name].sort());
    const workers = await workersOf(db, host.hostId);
    expect(workers.filter((w) => [name, other, climbing].includes(w.supervisor))).toEqual([]);
  }, 30_000);
});

describe('a supervisor both in the file and in the database', () => {
  it('is an error named at start', async () => {
    const name = `${prefix}-clash`;
    await insertConfig(name, { processors: { '*': 'run.mjs' }, labels: [], queues: [`${queueName}-clash`] });
    const config = writeConfig(scratch.dir, [{ name, queues: [`${prefix}-clash-file`] }]);
    const result = await runCli(['supervisor', `--config=${config}`, `--processors-dir=${processorsDir}`], {
      env: cliEnv({ WATCHTOWER_ENCRYPTION_KEY: key }),
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Supervisor ${name} is both in the configuration file`);
  }, 40_000);
});

describe('a host with labels and no processors directory', () => {
  it('runs no supervisor from the database, and says so', async () => {
    const name = `${prefix}-nodir`;
    await insertConfig(name, { processors: { '*': 'run.mjs' }, labels: [], queues: [`${queueName}-nodir`] });
    const config = writeConfig(scratch.dir, [
      { name: `${prefix}-nodir-file`, queues: [`${prefix}-nodir-file-q`] },
    ]);
    const other = await startHost(config, db, {
      env: cliEnv({ WATCHTOWER_ENCRYPTION_KEY: key, WATCHTOWER_HOST_LABELS: 'web' }),
    });
    expect(other.output).toContain('Labels web given without --processors-dir');
    const workers = await workersOf(db, other.hostId);
    expect(workers.map((w) => w.supervisor)).toEqual([`${prefix}-nodir-file`]);
    const stats = (await hostRow(db, other.hostId))?.stats.configuration as { version: number | null };
    expect(stats.version).toBeNull();
    await other.stop();
  }, 40_000);
});

describe('the configuration version', () => {
  it('is announced on watchtower_config when it is raised, so listening hosts need not wait for their check', async () => {
    const received: string[] = [];
    const stop = await new PgNotificationListener(testEnv.databaseUrl).listen(CONFIG_CHANNEL, (payload) => {
      received.push(payload);
    });
    try {
      const version = await db.transaction((tx) => bumpConfigVersion(tx));
      await waitFor(() => received.includes(String(version)), 10_000, 'the NOTIFY of the new version');
    } finally {
      await stop();
    }
  });
});

describe('the supervisor command', () => {
  it('refuses bad labels and a processors directory that does not exist, before anything starts', async () => {
    const labels = await runCli(['supervisor', '--labels=web,no spaces'], { env: cliEnv() });
    expect(labels.code).toBe(2);
    expect(labels.stderr).toContain('label "no spaces" must be letters');
    const dir = await runCli(['supervisor', `--processors-dir=${join(scratch.dir, 'missing')}`], {
      env: cliEnv(),
    });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain('does not exist');
  }, 40_000);
});
