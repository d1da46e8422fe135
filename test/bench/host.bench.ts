/**
 * `npm run bench:host`: what the real worker-host costs, measured on the local Postgres and Redis.
 *
 * Every figure comes from `watchtower supervisor` run as a child process, as a user runs it, with
 * test/bench/host-probe.ts loaded into it to count at the client every SQL statement and every Redis
 * command it sends (worker processes are forked without the probe).
 *
 * 1. Command acknowledgement: send `worker.pause` / `worker.resume` (alternating) to a worker on
 *    the bus, and time from the send until the sender reads the command back as `done` (it reads
 *    every 5 ms). With push (database: LISTEN/NOTIFY; redis: pub/sub) at the default 3 s poll, one
 *    command at a time; and with push turned off (the host's LISTEN fails, so it polls), commands
 *    sent at random moments (every 60-140 ms) so that they land anywhere in the poll interval.
 * 2. At idle, with 1 and with 20 worker processes, on each bus driver: bus reads and heartbeat
 *    writes the host sends, counted over a window at a 0.25 s poll (scaled to the default 3 s) and
 *    at the default 5 s heartbeat, with the time of each one, so the rates come from measured periods.
 * 3. Resident memory of the supervisor and of its worker processes, from /proc, with 1 and 20,
 *    with the TypeScript test processor (worker processes run the sources through tsx), and with
 *    20 running a JavaScript processor (they run the supervisor's compiled CLI under plain Node).
 *
 * Environment: WATCHTOWER_BENCH_HOST_DATABASE_URL (…/watchtower_bench_host),
 * WATCHTOWER_BENCH_HOST_REDIS_URL (redis://127.0.0.1:6379/9), HOST_BENCH_COMMANDS (200),
 * HOST_BENCH_IDLE_SECONDS (30), HOST_BENCH_WORKERS (20).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import type { CommandBus, CommandTarget } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { type Database, rowsOf } from '../../core/db/database';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase, ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { createIoredisClient } from '../../worker-host/bus/ioredis-client';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import {
  cliPath,
  HostProcess,
  repoRoot,
  scratchDir,
  testProcessor,
  uniqueName,
  waitFor,
  workersOf,
} from '../worker-host/harness';
import type { ProbeCounts } from './host-probe';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_HOST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/watchtower_bench_host';
const REDIS_URL = process.env.WATCHTOWER_BENCH_HOST_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
const COMMANDS = Number(process.env.HOST_BENCH_COMMANDS ?? 200);
const WARMUP = 10;
const IDLE_SECONDS = Number(process.env.HOST_BENCH_IDLE_SECONDS ?? 30);
const MANY = Number(process.env.HOST_BENCH_WORKERS ?? 20);
/** The worker-host's defaults (worker-host/config/config-schema.ts), which the figures scale to. */
const DEFAULT_POLL = 3;
const DEFAULT_HEARTBEAT = 5;
/** Poll interval of the idle runs: many polls in a short window. */
const FAST = 0.25;
/** Poll interval of the run without push. */
const POLL_ONLY = 0.5;
/** How often the sender reads a command back while it waits for `done`. */
const READ_BACK_MS = 5;
const probeModule = pathToFileURL(join(import.meta.dirname, 'host-probe.ts')).href;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

interface BenchHost {
  process: HostProcess;
  hostId: string;
  workerIds: string[];
  probeFile: string;
}

interface HostSetup {
  bus: 'database' | 'redis';
  push: boolean;
  workers: number;
  pollInterval: number;
  heartbeatInterval: number;
  /** The TypeScript test processor unless said otherwise. */
  processor?: string;
}

const JS_PROCESSOR = join(import.meta.dirname, '../worker-host/fixtures/js-processor.mjs');

async function startBenchHost(db: Database, dir: string, setup: HostSetup): Promise<BenchHost> {
  const name = uniqueName('bench-host');
  const configPath = join(dir, `${name}.json`);
  const probeFile = join(dir, `${name}.probe.json`);
  writeFileSync(
    configPath,
    JSON.stringify({
      connections: { default: { url: REDIS_URL } },
      supervisors: [
        {
          name: 'bench',
          queues: [name],
          minProcesses: setup.workers,
          maxProcesses: setup.workers,
          balance: 'simple',
        },
      ],
      processors: { '*': setup.processor ?? testProcessor },
      host: {
        pollInterval: setup.pollInterval,
        heartbeatInterval: setup.heartbeatInterval,
        gracePeriod: 5,
      },
    }),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL,
    WATCHTOWER_COMMAND_BUS: setup.bus,
    WATCHTOWER_BUS_REDIS_URL: REDIS_URL,
    WATCHTOWER_BENCH_PROBE_FILE: probeFile,
    WATCHTOWER_BENCH_NO_PUSH: setup.push ? '0' : '1',
  };
  delete env.WATCHTOWER_CONFIG;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', probeModule, cliPath, 'supervisor', `--config=${configPath}`],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const host = new HostProcess(child);
  started.add(host);
  try {
    const hostId = await waitFor(
      async () => {
        if (!host.running) throw new Error(`the host exited early:\n${host.output}`);
        const rows = rowsOf<{ host_id: string }>(
          await db.execute(
            sql`select host_id from watchtower_hosts where pid = ${host.pid} and status = 'running' order by started_at desc limit 1`,
          ),
        );
        return rows[0]?.host_id;
      },
      60_000,
      'the host to register',
    );
    const workerIds = await waitFor(
      async () => {
        if (!host.running) throw new Error(`the host exited early:\n${host.output}`);
        const running = (await workersOf(db, hostId)).filter((row) => row.status === 'running');
        return running.length >= setup.workers ? running.map((row) => row.worker_id) : undefined;
      },
      120_000,
      `${setup.workers} worker process(es) to run`,
    );
    return { process: host, hostId, workerIds, probeFile };
  } catch (error) {
    host.kill();
    throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
  }
}

/** Every host this run started, so that a failed run leaves none behind. */
const started = new Set<HostProcess>();

async function stopBenchHost(host: BenchHost): Promise<void> {
  const code = await host.process.stop(30_000);
  started.delete(host.process);
  if (code !== 0) console.warn(`  (the host exited with ${code}:\n${host.process.output})`);
}

function readProbe(host: BenchHost): ProbeCounts {
  return JSON.parse(readFileSync(host.probeFile, 'utf8')) as ProbeCounts;
}

/** The probe's counts after the last complete write. */
async function freshProbe(host: BenchHost): Promise<ProbeCounts> {
  const before = Date.now();
  return waitFor(
    () => {
      try {
        const counts = readProbe(host);
        return counts.at >= before ? counts : undefined;
      } catch {
        return undefined;
      }
    },
    10_000,
    'the probe to write its counts',
  );
}

// ---- 1. command acknowledgement ----------------------------------------------------------------

interface Latency {
  p50: number;
  p99: number;
  mean: number;
  max: number;
  count: number;
}

async function sendAndTime(bus: CommandBus, target: CommandTarget, i: number): Promise<number> {
  const start = performance.now();
  const sent = await bus.send({ target, type: i % 2 === 0 ? 'worker.pause' : 'worker.resume', ttl: 60 });
  for (;;) {
    const command = await bus.find(sent.id);
    if (command?.status === 'done') return performance.now() - start;
    if (command && command.status !== 'pending' && command.status !== 'claimed') {
      throw new Error(`command ${sent.type} ${sent.id} ended ${command.status}: ${command.error}`);
    }
    if (performance.now() - start > 30_000) throw new Error(`command ${sent.id} not done after 30 s`);
    await sleep(READ_BACK_MS);
  }
}

function summarize(times: number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    max: sorted.at(-1) ?? Number.NaN,
    count: sorted.length,
  };
}

/** One command at a time: each is sent once the previous one is done. */
async function sequentialLatency(bus: CommandBus, target: CommandTarget): Promise<Latency> {
  const times: number[] = [];
  for (let i = 0; i < COMMANDS + WARMUP; i++) {
    const ms = await sendAndTime(bus, target, i);
    if (i >= WARMUP) times.push(ms);
  }
  return summarize(times);
}

/**
 * Without push a command waits for the next poll; sent right after an answer it would always wait
 * about a whole interval. Sending at random moments instead spreads the sends over the interval.
 */
async function pacedLatency(bus: CommandBus, target: CommandTarget): Promise<Latency> {
  const pending: Promise<number>[] = [];
  for (let i = 0; i < COMMANDS + WARMUP; i++) {
    pending.push(sendAndTime(bus, target, i));
    await sleep(60 + Math.random() * 80);
  }
  const times = await Promise.all(pending);
  return summarize(times.slice(WARMUP));
}

function senderBus(kind: 'database' | 'redis', db: Database): CommandBus {
  return kind === 'database'
    ? new DatabaseCommandBus(db)
    : new RedisCommandBus(createIoredisClient(REDIS_URL));
}

// ---- 2 and 3. idle cost and memory -------------------------------------------------------------

interface IdleCost {
  bus: 'database' | 'redis';
  workers: number;
  processor: 'TypeScript' | 'JavaScript';
  windowSeconds: number;
  sql: Record<string, number>;
  redis: Record<string, number>;
  otherSql: Record<string, number>;
  /** Mean time between consecutive claims and consecutive heartbeats in the window, ms. */
  pollPeriodMs: number;
  heartbeatPeriodMs: number;
  supervisorRssMb: number;
  workerRssMb: number[];
}

/** Bus claims in the window, on whichever driver the host used. */
function claimsOf(cost: IdleCost): number {
  return (cost.sql['bus claim'] ?? 0) + (cost.redis['bus claim'] ?? 0);
}

/** Reads of the seed's terminate key: a row of watchtower_bus_entries, or a `watchtower:` key. */
function keyReadsOf(cost: IdleCost): number {
  return (cost.sql['bus key/value'] ?? 0) + (cost.redis['bus get'] ?? 0);
}

/** Mean gap between consecutive times inside (from, to]: no error from where the window falls. */
function meanPeriod(times: number[], from: number, to: number): number {
  const inside = times.filter((t) => t > from && t <= to);
  if (inside.length < 2) return Number.NaN;
  return ((inside.at(-1) ?? 0) - (inside[0] ?? 0)) / (inside.length - 1);
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) out[key] = delta;
  }
  return out;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function idleCost(
  db: Database,
  dir: string,
  workers: number,
  processor: IdleCost['processor'] = 'TypeScript',
  bus: IdleCost['bus'] = 'database',
): Promise<IdleCost> {
  const host = await startBenchHost(db, dir, {
    bus,
    push: true,
    workers,
    pollInterval: FAST,
    heartbeatInterval: DEFAULT_HEARTBEAT,
    ...(processor === 'JavaScript' ? { processor: JS_PROCESSOR } : {}),
  });
  try {
    // Let the start settle: the first heartbeats after the workers came up, the queue watcher.
    await sleep(3_000);
    const before = await freshProbe(host);
    await sleep(IDLE_SECONDS * 1000);
    const after = await freshProbe(host);
    const pids = (await workersOf(db, host.hostId))
      .filter((row) => row.status === 'running' && row.pid !== null)
      .map((row) => row.pid as number);
    return {
      bus,
      workers,
      processor,
      windowSeconds: (after.at - before.at) / 1000,
      sql: difference(after.sql, before.sql),
      redis: difference(after.redis, before.redis),
      otherSql: difference(after.otherSql, before.otherSql),
      pollPeriodMs: meanPeriod(after.times.claim, before.at, after.at),
      heartbeatPeriodMs: meanPeriod(after.times.heartbeat, before.at, after.at),
      supervisorRssMb: rssMb(host.process.pid),
      workerRssMb: pids.map(rssMb),
    };
  } finally {
    await stopBenchHost(host);
  }
}

// ---- the run -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = performance.now();
  await Promise.all([ensurePostgres(DATABASE_URL), ensureRedis(REDIS_URL)]);
  await ensureDatabase(DATABASE_URL);
  await migrateDatabase(DATABASE_URL);
  const database = createNodeDatabase(DATABASE_URL, { max: 12 });
  const { db } = database;
  const scratch = scratchDir();
  const load = () =>
    loadavg()
      .map((n) => n.toFixed(2))
      .join(', ');
  console.log(
    `Worker-host benchmark: real \`watchtower supervisor\` processes, Postgres ${DATABASE_URL}, Redis ${REDIS_URL}; load average ${load()}\n`,
  );

  const latencies: { label: string; interval: number; result: Latency }[] = [];
  const idle: IdleCost[] = [];
  try {
    const runs: { label: string; bus: 'database' | 'redis'; push: boolean; pollInterval: number }[] = [
      {
        label: 'database bus, push (LISTEN/NOTIFY)',
        bus: 'database',
        push: true,
        pollInterval: DEFAULT_POLL,
      },
      { label: 'redis bus, push (pub/sub)', bus: 'redis', push: true, pollInterval: DEFAULT_POLL },
      { label: 'database bus, polling only', bus: 'database', push: false, pollInterval: POLL_ONLY },
    ];
    for (const run of runs) {
      const host = await startBenchHost(db, scratch.dir, {
        bus: run.bus,
        push: run.push,
        workers: 1,
        pollInterval: run.pollInterval,
        heartbeatInterval: DEFAULT_HEARTBEAT,
      });
      const bus = senderBus(run.bus, db);
      try {
        const target: CommandTarget = { kind: 'worker', id: host.workerIds[0] ?? '' };
        const result = run.push ? await sequentialLatency(bus, target) : await pacedLatency(bus, target);
        latencies.push({ label: run.label, interval: run.pollInterval, result });
        console.log(
          `  ${run.label} (poll every ${run.pollInterval} s): p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms over ${result.count} commands`,
        );
      } finally {
        if (run.bus === 'redis') await bus.close();
        await stopBenchHost(host);
      }
    }
    const idleRuns: Array<[number, IdleCost['processor'], IdleCost['bus']]> = [
      [1, 'TypeScript', 'database'],
      [MANY, 'TypeScript', 'database'],
      [MANY, 'JavaScript', 'database'],
      [1, 'TypeScript', 'redis'],
      [MANY, 'TypeScript', 'redis'],
    ];
    for (const [workers, processor, bus] of idleRuns) {
      const cost = await idleCost(db, scratch.dir, workers, processor, bus);
      idle.push(cost);
      console.log(
        `  idle, ${bus} bus, ${workers} worker process(es), ${processor} processor: ${cost.windowSeconds.toFixed(1)} s window, ${claimsOf(cost)} claims, ${cost.sql.heartbeat ?? 0} heartbeats, supervisor RSS ${cost.supervisorRssMb.toFixed(1)} MB`,
      );
    }
  } finally {
    for (const host of started) host.kill();
    scratch.cleanup();
    await database.close();
  }

  console.log('\n1. Command acknowledgement: send -> the sender reads it back `done` (worker.pause/resume)');
  printTable(
    ['bus', 'poll interval', 'commands', 'p50 ms', 'p99 ms', 'mean ms', 'max ms'],
    latencies.map(({ label, interval, result }) => [
      label,
      `${interval} s`,
      String(result.count),
      result.p50.toFixed(1),
      result.p99.toFixed(1),
      result.mean.toFixed(1),
      result.max.toFixed(1),
    ]),
  );
  console.log(
    `   Target: p99 <= 250 ms with push. Push runs: the default ${DEFAULT_POLL} s poll, one command at a time.` +
      ` Polling only: commands sent every 60-140 ms at random, so they arrive anywhere in the ${POLL_ONLY} s` +
      ` interval (a wait of ${(POLL_ONLY / 2) * 1000} ms on average, ${POLL_ONLY * 1000} ms at most, plus the command;` +
      ` at the default ${DEFAULT_POLL} s: ${(DEFAULT_POLL / 2) * 1000} ms and ${DEFAULT_POLL * 1000} ms).` +
      ` The sender reads the command every ${READ_BACK_MS} ms.`,
  );

  console.log(
    `\n2. Idle host, each bus with push: what the supervisor sent, counted at the client over the window,` +
      ` with a ${FAST} s poll and the default ${DEFAULT_HEARTBEAT} s heartbeat`,
  );
  const hourly = (count: number, window: number) => Math.round((count * 3600) / window);
  printTable(
    [
      'bus',
      'workers',
      'processor',
      'window s',
      'claims',
      'poll period ms',
      'bus reads/h @3 s',
      'heartbeats',
      'beat period s',
      'heartbeats/h @5 s',
      'seed reads/h',
      'other SQL/h',
      'other Redis/h',
    ],
    idle.map((cost) => {
      const claims = claimsOf(cost);
      // A poll is one claim followed by the interval: the period is the interval plus what a claim
      // takes; at the default interval, the same claim time on top of 3 s.
      const overshootSeconds = cost.pollPeriodMs / 1000 - FAST;
      const readsPerHour = Math.round(3600 / (DEFAULT_POLL + overshootSeconds));
      const terminateReads = hourly(keyReadsOf(cost), cost.windowSeconds);
      const otherSql = Object.entries(cost.sql)
        .filter(([kind]) => !['bus claim', 'bus key/value', 'heartbeat'].includes(kind))
        .reduce((sum, [, n]) => sum + n, 0);
      const otherRedis = Object.entries(cost.redis)
        .filter(([kind]) => !kind.startsWith('bus '))
        .reduce((sum, [, n]) => sum + n, 0);
      return [
        cost.bus,
        String(cost.workers),
        cost.processor,
        cost.windowSeconds.toFixed(1),
        String(claims),
        cost.pollPeriodMs.toFixed(1),
        `${readsPerHour} + ${terminateReads}`,
        String(cost.sql.heartbeat ?? 0),
        (cost.heartbeatPeriodMs / 1000).toFixed(3),
        String(Math.round(3_600_000 / cost.heartbeatPeriodMs)),
        String(cost.workers * (3600 / DEFAULT_POLL)),
        String(hourly(otherSql, cost.windowSeconds)),
        String(hourly(otherRedis, cost.windowSeconds)),
      ];
    }),
  );
  for (const cost of idle) {
    const kinds = Object.entries(cost.sql)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    const redis = Object.entries(cost.redis)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    console.log(
      `   ${cost.bus} bus, ${cost.workers} worker(s), ${cost.processor}, in ${cost.windowSeconds.toFixed(1)} s: SQL ${kinds}; Redis ${redis || 'none'}`,
    );
    const other = Object.entries(cost.otherSql);
    if (other.length > 0) {
      console.log(`     other SQL: ${other.map(([text, n]) => `${n} x "${text}"`).join('; ')}`);
    }
  }
  console.log(
    `   "bus reads/h @3 s": claims (one per poll, for all of the host's targets at once) at the default` +
      ` ${DEFAULT_POLL} s poll = 3600 / (${DEFAULT_POLL} s + the measured poll period - ${FAST} s), plus the reads of` +
      ' the seed\'s terminate key (every 30 s, counted in the window). "heartbeats/h @5 s": 3600 / the measured' +
      ` period between heartbeats (one statement per beat for the host and all its workers; beats fall on the` +
      ` host's 200 ms loop tick, so a short window's period may be off by a few ms; each beat is due an interval` +
      ` after the last was due, so the rate holds over time). "seed reads/h": the seed's design, one` +
      ` read per worker every ${DEFAULT_POLL} s. "other": what else the supervisor sent at idle (queue watcher,` +
      ' recorder cursors and metrics), per hour as measured: not the bus.',
  );

  console.log('\n3. Resident memory (VmRSS from /proc), idle');
  printTable(
    [
      'bus',
      'workers',
      'processor',
      'supervisor MB',
      'workers total MB',
      'per worker MB (mean)',
      'min-max MB',
    ],
    idle.map((cost) => {
      const total = cost.workerRssMb.reduce((a, b) => a + b, 0);
      return [
        cost.bus,
        String(cost.workers),
        cost.processor,
        cost.supervisorRssMb.toFixed(1),
        total.toFixed(1),
        (total / Math.max(1, cost.workerRssMb.length)).toFixed(1),
        `${Math.min(...cost.workerRssMb).toFixed(1)}-${Math.max(...cost.workerRssMb).toFixed(1)}`,
      ];
    }),
  );
  console.log(
    `\nHost benchmark took ${((performance.now() - startedAt) / 1000).toFixed(0)} s; load average ${load()}`,
  );
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`   ${line(header)}`);
  console.log(`   ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(`   ${line(row)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
