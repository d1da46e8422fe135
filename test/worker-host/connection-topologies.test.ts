import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionDiscoverResult, ConnectionTestResult } from '../../core/commands/command-types';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import { loadKeyRing, sealSecret } from '../../core/crypto/sealed-secrets';
import { connections } from '../../drizzle/schema';
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
 * `connection.test` and `connection.discover` on the other Redis kinds a connection can be: a
 * three-node Redis Cluster (discovery scans every primary) and a Redis behind Sentinel with a
 * password (the host asks the sentinel for the primary, then authenticates), all started here.
 */

const { db, close } = openTestDatabase();
const bus = openTestBus(db);
const scratch = scratchDir();
const key = randomBytes(32).toString('base64');
const password = `sentinel-${randomBytes(12).toString('hex')}`;
const prefix = uniqueName('topo');
const servers: ChildProcess[] = [];
const queues: Queue[] = [];
const clusterPorts: number[] = [];
let primaryPort = 0;
let sentinelPort = 0;
const ids = { cluster: randomUUID(), sentinel: randomUUID() };
let host: HostProcess;

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

/** A redis-server from a configuration file in the scratch directory (no secret on its command line). */
function redisServer(name: string, lines: string[], sentinel = false): void {
  const file = join(scratch.dir, `${name}.conf`);
  writeFileSync(
    file,
    `${[`dir ${scratch.dir}`, 'save ""', 'appendonly no', 'bind 127.0.0.1', ...lines].join('\n')}\n`,
  );
  servers.push(spawn('redis-server', sentinel ? [file, '--sentinel'] : [file], { stdio: 'ignore' }));
}

async function answers(port: number, auth?: string): Promise<void> {
  await waitFor(
    async () => {
      const client = new Redis({
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        ...(auth && { password: auth }),
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    15_000,
    `redis-server on ${port}`,
  );
}

beforeAll(async () => {
  for (let i = 0; i < 3; i++) clusterPorts.push(await freePort());
  for (const port of clusterPorts) {
    redisServer(`cluster-${port}`, [
      `port ${port}`,
      'cluster-enabled yes',
      `cluster-config-file nodes-${port}.conf`,
      'cluster-node-timeout 5000',
    ]);
  }
  primaryPort = await freePort();
  sentinelPort = await freePort();
  redisServer('primary', [`port ${primaryPort}`, `requirepass ${password}`]);
  await Promise.all([...clusterPorts.map((port) => answers(port)), answers(primaryPort, password)]);
  redisServer(
    'sentinel',
    [
      `port ${sentinelPort}`,
      `sentinel monitor ${prefix}-primary 127.0.0.1 ${primaryPort} 1`,
      `sentinel auth-pass ${prefix}-primary ${password}`,
    ],
    true,
  );
  await answers(sentinelPort);
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...clusterPorts.map((port) => `127.0.0.1:${port}`), '--cluster-yes'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (created.status !== 0) throw new Error(`redis-cli --cluster create: ${created.stdout}${created.stderr}`);
  await waitFor(
    async () => {
      const client = new Redis({ port: clusterPorts[0], maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        return (await client.cluster('INFO')).includes('cluster_state:ok');
      } finally {
        client.disconnect();
      }
    },
    30_000,
    'the cluster to be ok',
  );

  // Queues under hash-tagged prefixes, as BullMQ needs on a cluster: each prefix's keys share a
  // slot, so queues of two prefixes are likely on two primaries. One prefix is the connection's.
  const tagged = `{${prefix}}`;
  const other = `{${prefix}-other}`;
  const cluster = () => new Cluster(clusterPorts.map((port) => ({ host: '127.0.0.1', port })));
  for (const [name, queuePrefix] of [
    ['one', tagged],
    ['two', tagged],
    ['three', other],
  ] as const) {
    const queue = new Queue(`${prefix}-${name}`, { connection: cluster(), prefix: queuePrefix });
    queue.on('error', () => undefined);
    queues.push(queue);
    await queue.add('job', {});
  }

  const ring = await loadKeyRing({ current: key });
  if (!ring) throw new Error('no key ring');
  await db.insert(connections).values([
    {
      id: ids.cluster,
      name: `${prefix}-cluster`,
      kind: 'redis-cluster',
      nodes: [{ host: '127.0.0.1', port: clusterPorts[1]! }],
      keyPrefix: tagged,
      createdBy: 'test:connection-topologies',
      updatedBy: 'test:connection-topologies',
    },
    {
      id: ids.sentinel,
      name: `${prefix}-sentinel`,
      kind: 'redis-sentinel',
      nodes: [{ host: '127.0.0.1', port: sentinelPort }],
      sentinelName: `${prefix}-primary`,
      db: 0,
      passwordSealed: await sealSecret(ring, password, connectionSecretContext(ids.sentinel, 'password')),
      createdBy: 'test:connection-topologies',
      updatedBy: 'test:connection-topologies',
    },
  ]);

  const config = writeConfig(scratch.dir, [{ name: `${prefix}-file`, queues: [`${prefix}-file-q`] }]);
  host = await startHost(config, db, { env: cliEnv({ WATCHTOWER_ENCRYPTION_KEY: key }) });
}, 120_000);

afterAll(async () => {
  await killAllHosts();
  for (const queue of queues) await queue.close().catch(() => undefined);
  for (const server of servers) server.kill('SIGKILL');
  await db.execute(sql`delete from watchtower_connections where name like ${`${prefix}%`}`);
  await bus.close();
  await close();
  scratch.cleanup();
});

async function run(type: 'connection.test' | 'connection.discover', connectionId: string) {
  const command = await sendAndWait(
    bus,
    { target: { kind: 'host', id: host.hostId }, type, args: { connectionId } },
    30_000,
  );
  expect(command.status, command.error ?? '').toBe('done');
  return command.result;
}

describe('a Redis Cluster connection', () => {
  it('is tested through the node it names', async () => {
    const result = (await run('connection.test', ids.cluster)) as ConnectionTestResult;
    expect(result).toMatchObject({
      ok: true,
      authenticated: true,
      error: null,
      serverVersion: expect.any(String),
    });
  });

  it("finds its prefix's queues on whichever primary holds them, and no other prefix's", async () => {
    const result = (await run('connection.discover', ids.cluster)) as ConnectionDiscoverResult;
    expect(result).toEqual({
      queues: [`${prefix}-one`, `${prefix}-two`],
      truncated: false,
      scannedKeys: expect.any(Number),
    });
    // Every primary was scanned to its end: all the keys of the cluster were looked at.
    let total = 0;
    for (const port of clusterPorts) {
      const node = new Redis({ port, maxRetriesPerRequest: 0 });
      total += await node.dbsize();
      node.disconnect();
    }
    expect(result.scannedKeys).toBe(total);
  });
});

describe('a Redis Sentinel connection', () => {
  it('finds the primary through the sentinel and authenticates with the opened password', async () => {
    const result = (await run('connection.test', ids.sentinel)) as ConnectionTestResult;
    expect(result).toMatchObject({
      ok: true,
      authenticated: true,
      error: null,
      serverVersion: expect.any(String),
    });
    expect(host.output).not.toContain(password);
  });
});
