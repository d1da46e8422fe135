import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../core/bus/command-bus';
import type { ConnectionDiscoverResult, ConnectionTestResult } from '../../core/commands/command-types';
import { bumpConfigVersion, readConfigVersion } from '../../core/config/config-version';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import { loadKeyRing, sealSecret } from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import { connections, connectionTests } from '../../drizzle/schema';
import {
  MAX_TEST_ERROR_CHARS,
  recordConnectionTest,
} from '../../worker-host/commands/connection-test-record';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  type HostProcess,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  sendAndWait,
  startHost,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

/**
 * `connection.test` and `connection.discover` carried out by a real host: a private redis-server
 * with a password, connections written as the API writes them (secrets sealed under the host's
 * key), BullMQ queues under a custom prefix, and a host that reports its labels and the
 * configuration version it applied.
 */

const { db, close } = openTestDatabase();
const bus = openTestBus(db);
const scratch = scratchDir();
const password = `conn-test-${randomBytes(12).toString('hex')}`;
const key = randomBytes(32).toString('base64');
const otherKey = randomBytes(32).toString('base64');
const prefix = uniqueName('conncmd');
const bullPrefix = `${prefix}-pfx`;
const discovered = ['alpha', 'beta', 'gamma'].map((name) => `${prefix}-${name}`);
let redis: ChildProcess | undefined;
let port = 0;
let closedPort = 0;
const ids = {
  good: randomUUID(),
  wrongPassword: randomUUID(),
  noPassword: randomUUID(),
  closed: randomUUID(),
  silent: randomUUID(),
  otherKey: randomUUID(),
  postgres: randomUUID(),
  discover: randomUUID(),
};
const opened: Queue[] = [];
let host: HostProcess;
/** A server that accepts connections and never answers: a hung Redis, made on purpose. */
const silent = createServer((socket) => {
  socket.on('error', () => undefined);
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const found = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(found));
    });
  });
}

function redisUrl(): string {
  return `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}/0`;
}

async function seal(keyText: string, id: string, field: 'password' | 'url', secret: string) {
  const ring = await loadKeyRing({ current: keyText });
  if (!ring) throw new Error('no key ring');
  return sealSecret(ring, secret, connectionSecretContext(id, field));
}

async function insertRedis(
  id: string,
  values: { port: number; password?: string; sealWith?: string; keyPrefix?: string },
) {
  await db.insert(connections).values({
    id,
    name: `${prefix}-${id.slice(0, 8)}`,
    kind: 'redis',
    host: '127.0.0.1',
    port: values.port,
    db: 0,
    keyPrefix: values.keyPrefix ?? null,
    passwordSealed:
      values.password === undefined
        ? null
        : await seal(values.sealWith ?? key, id, 'password', values.password),
    createdBy: 'test:connection-commands',
    updatedBy: 'test:connection-commands',
  });
}

beforeAll(async () => {
  port = await freePort();
  closedPort = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  // Set after start, not on the command line: `ps` would show it to every user of the machine.
  await waitFor(
    async () => {
      const client = new Redis({
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.config('SET', 'requirepass', password);
        return true;
      } finally {
        client.disconnect();
      }
    },
    10_000,
    'the private redis-server',
  );

  await insertRedis(ids.good, { port, password });
  await insertRedis(ids.wrongPassword, { port, password: `${password}-wrong` });
  await insertRedis(ids.noPassword, { port });
  await insertRedis(ids.closed, { port: closedPort, password });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentAddress = silent.address();
  await insertRedis(ids.silent, {
    port: typeof silentAddress === 'object' && silentAddress ? silentAddress.port : 0,
    password,
  });
  await insertRedis(ids.otherKey, { port, password, sealWith: otherKey });
  await insertRedis(ids.discover, { port, password, keyPrefix: bullPrefix });
  await db.insert(connections).values({
    id: ids.postgres,
    name: `${prefix}-pg`,
    kind: 'postgres',
    urlSealed: await seal(key, ids.postgres, 'url', testEnv.databaseUrl),
    createdBy: 'test:connection-commands',
    updatedBy: 'test:connection-commands',
  });
  await bumpConfigVersion(db);

  // BullMQ queues: three under the connection's prefix, one under the default prefix, which the
  // discovery must not report.
  for (const [name, queuePrefix] of [
    ...discovered.map((name) => [name, bullPrefix] as const),
    [`${prefix}-elsewhere`, 'bull'] as const,
  ]) {
    const queue = new Queue(name, { connection: { url: redisUrl() }, prefix: queuePrefix });
    queue.on('error', () => undefined);
    opened.push(queue);
    await queue.add('job', { n: 1 });
  }
  const filler = new Redis(redisUrl());
  try {
    // Keys that only look like a queue's, and enough others for a bounded scan to stop early.
    await filler.hset(`${bullPrefix}:not:a-queue:meta`, 'x', '1');
    const pipeline = filler.pipeline();
    for (let i = 0; i < 3000; i++) pipeline.set(`${prefix}:filler:${i}`, '1');
    await pipeline.exec();
  } finally {
    filler.disconnect();
  }

  const processorsDir = join(scratch.dir, 'processors');
  mkdirSync(processorsDir);
  const config = writeConfig(scratch.dir, [{ name: `${prefix}-file`, queues: [`${prefix}-file-q`] }]);
  host = await startHost(config, db, {
    env: cliEnv({ WATCHTOWER_ENCRYPTION_KEY: key }),
    args: [`--labels=${prefix}-eu,${prefix}-web`, `--processors-dir=${processorsDir}`],
  });
}, 90_000);

afterAll(async () => {
  await killAllHosts();
  for (const queue of opened) await queue.close().catch(() => undefined);
  redis?.kill('SIGKILL');
  silent.close();
  await db.execute(sql`delete from watchtower_connections where name like ${`${prefix}%`}`);
  await bus.close();
  await close();
  scratch.cleanup();
});

async function run(type: 'connection.test' | 'connection.discover', args: Record<string, unknown>) {
  return sendAndWait(bus, { target: { kind: 'host', id: host.hostId }, type, args }, 30_000);
}

async function testOf(connectionId: string): Promise<ConnectionTestResult> {
  const command = await run('connection.test', { connectionId });
  expect(command.status, command.error ?? '').toBe('done');
  return command.result as ConnectionTestResult;
}

async function lastTestOf(connectionId: string) {
  const rows = await db.select().from(connectionTests).where(eq(connectionTests.connectionId, connectionId));
  return rows[0];
}

function expectNoSecret(command: Command) {
  const text = JSON.stringify(command);
  expect(text).not.toContain(password);
  expect(text).not.toContain(encodeURIComponent(password));
}

describe('connection.test', () => {
  it('reaches a good Redis connection and reports latency, version and memory', async () => {
    const result = await testOf(ids.good);
    expect(Object.keys(result).sort()).toEqual(
      [
        'authenticated',
        'error',
        'latencyMs',
        'maxmemoryPolicy',
        'ok',
        'serverVersion',
        'usedMemoryBytes',
      ].sort(),
    );
    const info = new Redis(redisUrl());
    const version = (await info.info('server')).match(/redis_version:(\S+)/)?.[1];
    info.disconnect();
    expect(result).toMatchObject({ ok: true, authenticated: true, error: null, serverVersion: version });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.usedMemoryBytes).toBeGreaterThan(0);
    expect(result.maxmemoryPolicy).toBe('noeviction');
  });

  it('says a wrong password is refused, without the password anywhere', async () => {
    const command = await run('connection.test', { connectionId: ids.wrongPassword });
    const result = command.result as ConnectionTestResult;
    expect(result).toMatchObject({ ok: false, authenticated: false, latencyMs: null, serverVersion: null });
    expect(result.error).toMatch(/authentication failed/);
    expectNoSecret(command);
    const missing = await testOf(ids.noPassword);
    expect(missing).toMatchObject({ ok: false, authenticated: false });
    expect(missing.error).toMatch(/NOAUTH|authentication/i);
  });

  it('answers ok false for a port nothing listens on', async () => {
    const result = await testOf(ids.closed);
    expect(result).toMatchObject({ ok: false, authenticated: false, latencyMs: null });
    expect(result.error).toMatch(new RegExp(`connection refused by 127\\.0\\.0\\.1:${closedPort}`));
  });

  it('answers ok false for a server that accepts the connection but never answers', async () => {
    const result = await testOf(ids.silent);
    expect(result).toMatchObject({ ok: false, authenticated: false, latencyMs: null });
    expect(result.error).toMatch(/is unreachable: .*no answer within \d+ ms/);
  });

  it('answers ok false for a secret this host cannot open', async () => {
    const result = await testOf(ids.otherKey);
    expect(result).toMatchObject({ ok: false, authenticated: false });
    expect(result.error).toMatch(/does not open with this host's WATCHTOWER_ENCRYPTION_KEY/);
  });

  it('runs select 1 on a postgres connection', async () => {
    const result = await testOf(ids.postgres);
    expect(result).toMatchObject({ ok: true, authenticated: true, usedMemoryBytes: null, error: null });
    expect(result.serverVersion).toMatch(/^\d+/);
  });

  it('fails a connection id that does not exist, and a malformed one', async () => {
    const unknown = await run('connection.test', { connectionId: randomUUID() });
    expect(unknown).toMatchObject({ status: 'failed' });
    expect(unknown.error).toMatch(/no connection/);
    const bad = await run('connection.test', { connectionId: 'not-a-uuid' });
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatch(/connectionId/);
  });

  it('never logs the password', () => {
    expect(host.output).not.toContain(password);
  });
});

describe('the last test of a connection', () => {
  it('is kept by the host that ran it, and replaced by the next test', async () => {
    const before = new Date();
    const result = await testOf(ids.good);
    const first = await lastTestOf(ids.good);
    expect(first).toMatchObject({
      connectionId: ids.good,
      hostId: host.hostId,
      ok: true,
      latencyMs: result.latencyMs,
      serverVersion: result.serverVersion,
      authenticated: true,
      error: null,
    });
    expect(first?.latencyMs).toEqual(expect.any(Number));
    expect(first?.testedAt.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    await testOf(ids.good);
    const rows = await db.select().from(connectionTests).where(eq(connectionTests.connectionId, ids.good));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.testedAt.getTime()).toBeGreaterThanOrEqual(first?.testedAt.getTime() ?? 0);
  });

  it('keeps a failure with its reason and no latency', async () => {
    const result = await testOf(ids.closed);
    expect(result.ok).toBe(false);
    expect(await lastTestOf(ids.closed)).toMatchObject({
      hostId: host.hostId,
      ok: false,
      latencyMs: null,
      serverVersion: null,
      authenticated: false,
      error: result.error,
    });
    expect((await lastTestOf(ids.closed))?.error).toMatch(/connection refused by/);
  });

  it('keeps a wrong password as a failure, without the password', async () => {
    await testOf(ids.wrongPassword);
    const row = await lastTestOf(ids.wrongPassword);
    expect(row).toMatchObject({ ok: false, authenticated: false });
    expect(row?.error).toMatch(/authentication failed/);
    expect(JSON.stringify(row)).not.toContain(password);
  });

  it('stores an error cut and cleaned of NUL and lone surrogates', async () => {
    const text = `bad\u0000reply \ud800 ${'x'.repeat(2000)}`;
    await recordConnectionTest(db, ids.noPassword, 'test-host', {
      ok: false,
      latencyMs: null,
      serverVersion: 'v\u00001',
      usedMemoryBytes: null,
      maxmemoryPolicy: null,
      authenticated: false,
      error: text,
    });
    const row = await lastTestOf(ids.noPassword);
    expect(row?.error).toHaveLength(MAX_TEST_ERROR_CHARS);
    expect(row?.error?.startsWith('bad\ufffdreply \ufffd x')).toBe(true);
    expect(row?.serverVersion).toBe('v\ufffd1');
  });

  it('never fails the test when the row cannot be written', async () => {
    const gone = randomUUID();
    await expect(
      recordConnectionTest(db, gone, 'test-host', {
        ok: true,
        latencyMs: 1,
        serverVersion: null,
        usedMemoryBytes: null,
        maxmemoryPolicy: null,
        authenticated: true,
        error: null,
      }),
    ).resolves.toBeUndefined();
    expect(await lastTestOf(gone)).toBeUndefined();
  });

  it('goes with its connection', async () => {
    const id = randomUUID();
    await insertRedis(id, { port: closedPort });
    await testOf(id);
    expect(await lastTestOf(id)).toMatchObject({ ok: false });
    await db.delete(connections).where(eq(connections.id, id));
    expect(await lastTestOf(id)).toBeUndefined();
  });
});

describe('connection.discover', () => {
  it('finds the queues under the connection prefix and nothing else', async () => {
    const command = await run('connection.discover', { connectionId: ids.discover });
    expect(command.status, command.error ?? '').toBe('done');
    const result = command.result as ConnectionDiscoverResult;
    expect(result.queues).toEqual([...discovered].sort());
    expect(result.truncated).toBe(false);
    const client = new Redis(redisUrl());
    const size = await client.dbsize();
    client.disconnect();
    expect(result.scannedKeys).toBe(size);
  });

  it('stops at its bounds and says it did', async () => {
    const byKeys = await run('connection.discover', {
      connectionId: ids.discover,
      limits: { scannedKeys: 50, count: 10 },
    });
    expect(byKeys.status, byKeys.error ?? '').toBe('done');
    expect(byKeys.result).toMatchObject({ truncated: true, scannedKeys: 50 });
    const byQueues = await run('connection.discover', {
      connectionId: ids.discover,
      limits: { queues: 2, count: 1000 },
    });
    const result = byQueues.result as ConnectionDiscoverResult;
    expect(result.truncated).toBe(true);
    expect(result.queues).toHaveLength(2);
    for (const queue of result.queues) expect(discovered).toContain(queue);
  });

  it('refuses bounds above the defaults, and a connection it cannot open', async () => {
    const over = await run('connection.discover', {
      connectionId: ids.discover,
      limits: { scannedKeys: 1_000_000 },
    });
    expect(over.status).toBe('failed');
    expect(over.error).toMatch(/limits\.scannedKeys/);
    const wrong = await run('connection.discover', { connectionId: ids.wrongPassword });
    expect(wrong.status).toBe('failed');
    expect(wrong.error).toMatch(/authentication failed/);
    expectNoSecret(wrong);
  });
});

describe('host configuration report', () => {
  it('writes its labels, the version it applied and its key to its row', async () => {
    const current = await readConfigVersion(db);
    const row = await waitFor(
      async () => {
        const rows = rowsOf<{
          labels: string[];
          database_config: boolean;
          config_version: string | number | null;
          config_error: string | null;
          encryption_key: boolean | null;
        }>(
          await db.execute(
            sql`select labels, database_config, config_version, config_error, encryption_key
                from watchtower_hosts where host_id = ${host.hostId}`,
          ),
        );
        const found = rows[0];
        return found && Number(found.config_version) === current
          ? { ...found, config_version: Number(found.config_version) }
          : undefined;
      },
      20_000,
      'the host to report the current configuration version',
    );
    expect(row).toEqual({
      labels: [`${prefix}-eu`, `${prefix}-web`],
      database_config: true,
      config_version: current,
      config_error: null,
      encryption_key: true,
    });
  });
});
