/**
 * `npm run bench:bus`: what the command bus costs, for each driver, measured on the real servers.
 *
 * 1. Latency of one command's whole trip, send → claim → acknowledge, over 1,000 commands
 *    (sequential, one process: this is the bus's own cost, without any polling delay).
 * 2. Bus operations one idle host makes per hour, with 1 and with 50 workers: Watchtower's one
 *    claim per poll for all targets, against the seed's design (one `get` per worker per poll),
 *    both run for real, counting the round trips each makes to its server.
 */

import type { CommandBus, CommandTarget } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { workerCommandKey } from '../../core/bus/keys';
import type { RedisClient } from '../../core/bus/redis-client';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { createUpstashRedisClient } from '../../core/bus/upstash-redis-client';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase, ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { startUpstashRest } from '../../scripts/local-only/upstash-rest';
import { CommandPoller } from '../../worker-host/bus/command-poller';
import { createIoredisClient } from '../../worker-host/bus/ioredis-client';
import { createNodeDatabase } from '../../worker-host/db/node-database';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower_bench';
const REDIS_URL = process.env.WATCHTOWER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const COMMANDS = Number(process.env.WATCHTOWER_BENCH_COMMANDS ?? 1000);
const POLL_SECONDS = 3; // the seed's poll interval, kept as the worker-host's default
const IDLE_POLLS = 40;

interface Driver {
  name: string;
  open(): Promise<CommandBus>;
  /** Round trips to the server so far (the difference is what a run cost). */
  roundTrips(): number;
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

async function latency(bus: CommandBus): Promise<{ p50: number; p99: number; mean: number }> {
  const host = `bench-host-${crypto.randomUUID()}`;
  const target: CommandTarget = { kind: 'worker', id: `bench-${crypto.randomUUID()}` };
  const times: number[] = [];
  for (let i = 0; i < COMMANDS + 50; i++) {
    const start = performance.now();
    await bus.send({ target, type: 'worker.pause', args: { i } });
    const [claimed] = await bus.claim({ claimer: host, targets: [target] });
    if (!claimed) throw new Error('a sent command was not claimed');
    await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { paused: true } });
    if (i >= 50) times.push(performance.now() - start); // the first 50 warm up connections and plans
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { p50: percentile(times, 50), p99: percentile(times, 99), mean };
}

/** Server operations per poll of an idle host, Watchtower's way and the seed's way. */
async function idleCost(
  driver: Driver,
  bus: CommandBus,
  workers: number,
): Promise<{ watchtower: number; seed: number }> {
  const hostId = `bench-host-${crypto.randomUUID()}`;
  const workerIds = Array.from({ length: workers }, () => crypto.randomUUID());
  const targets: CommandTarget[] = [
    { kind: 'host', id: hostId },
    { kind: 'supervisor', id: 'default' },
    { kind: 'connection', id: 'default' },
    ...workerIds.map((id) => ({ kind: 'worker' as const, id })),
  ];
  const poller = new CommandPoller(bus, {
    claimer: hostId,
    targets: () => targets,
    intervalMs: 0,
    onCommands: async () => undefined,
  });
  // The poller runs flat out here; what matters is operations per poll, not wall time.
  const before = driver.roundTrips();
  const originalClaim = bus.claim.bind(bus);
  let polls = 0;
  await new Promise<void>((resolve) => {
    bus.claim = async (request) => {
      const result = await originalClaim(request);
      if (++polls >= IDLE_POLLS) resolve();
      return result;
    };
    void poller.start();
  });
  await poller.stop();
  bus.claim = originalClaim;
  const watchtowerOps = driver.roundTrips() - before;
  // The seed: every worker reads its own key every poll.
  const seedBefore = driver.roundTrips();
  for (let poll = 0; poll < IDLE_POLLS; poll++) {
    await Promise.all(workerIds.map((id) => bus.get(workerCommandKey(id))));
  }
  const seedOps = driver.roundTrips() - seedBefore;
  return { watchtower: watchtowerOps / polls, seed: seedOps / IDLE_POLLS };
}

async function main(): Promise<void> {
  await Promise.all([ensurePostgres(), ensureRedis()]);
  await ensureDatabase(DATABASE_URL);
  await migrateDatabase(DATABASE_URL);
  const upstashToken = 'local-bench-token';
  const upstash = await startUpstashRest({ port: 0, token: upstashToken, redisUrl: REDIS_URL });
  const counts = { database: 0, ioredis: 0, upstash: 0 };
  const countRedis = (client: RedisClient, key: keyof typeof counts): RedisClient => {
    const counted =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> => {
        counts[key]++;
        return call(...args);
      };
    return {
      eval: counted(client.eval.bind(client)),
      get: counted(client.get.bind(client)),
      set: counted(client.set.bind(client)),
      del: counted(client.del.bind(client)),
      close: () => client.close(),
    };
  };

  const drivers: Driver[] = [
    {
      name: 'database (node-postgres)',
      open: async () => {
        const { db, pool, close } = createNodeDatabase(DATABASE_URL, { max: 8 });
        // drizzle sends every statement through pool.query: one call, one round trip.
        const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
        (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
          counts.database++;
          return query(...args);
        };
        return new DatabaseCommandBus(db, { close });
      },
      roundTrips: () => counts.database,
    },
    {
      name: 'redis (ioredis, TCP)',
      open: async () => new RedisCommandBus(countRedis(createIoredisClient(REDIS_URL), 'ioredis')),
      roundTrips: () => counts.ioredis,
    },
    {
      name: 'redis (@upstash/redis, REST)',
      open: async () =>
        new RedisCommandBus(
          countRedis(createUpstashRedisClient({ url: upstash.url, token: upstashToken }), 'upstash'),
        ),
      roundTrips: () => counts.upstash,
    },
  ];

  console.log(`Command bus benchmark: ${COMMANDS} commands per driver, idle cost over ${IDLE_POLLS} polls\n`);
  const rows: string[][] = [];
  for (const driver of drivers) {
    const bus = await driver.open();
    try {
      const lat = await latency(bus);
      const one = await idleCost(driver, bus, 1);
      const fifty = await idleCost(driver, bus, 50);
      const perHour = 3600 / POLL_SECONDS;
      rows.push([
        driver.name,
        lat.p50.toFixed(2),
        lat.p99.toFixed(2),
        Math.round(one.watchtower * perHour).toString(),
        Math.round(fifty.watchtower * perHour).toString(),
        Math.round(one.seed * perHour).toString(),
        Math.round(fifty.seed * perHour).toString(),
        (fifty.seed / fifty.watchtower).toFixed(1),
      ]);
    } finally {
      await bus.close();
    }
  }
  const header = [
    'driver',
    'p50 ms',
    'p99 ms',
    'ops/h 1 worker',
    'ops/h 50 workers',
    'seed ops/h 1',
    'seed ops/h 50',
    'seed/ours @50',
  ];
  printTable(header, rows);
  console.log(
    `\nops/h: round trips to the bus an idle host makes per hour at a ${POLL_SECONDS} s poll, counted at the` +
      ' client over the measured polls and scaled; "seed" is the seed design run for real (one get per worker per poll).',
  );
  await upstash.close();
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
