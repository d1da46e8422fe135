/**
 * `npm run bench:shipped`: the worker-host as users run it, against bare BullMQ, in the same run.
 *
 * - watchtower: `node <bundle>/cli.mjs supervisor --config <file>`: the worker-host package's code
 *   exactly as `npm pack` ships it (scripts/build-worker-host.ts, bundled for this run into
 *   .build/bench-cli/), which the installed `watchtower` command runs under plain Node (cli/bin.mjs
 *   registers tsx only for the repository's sources), with one supervisor, one worker process at concurrency 50 and a no-op JavaScript
 *   processor (test/bench/fixtures/noop-processor.mjs), every setting at its default: queue watcher,
 *   recorder, heartbeats, command polling, timeouts and memory checks all on.
 * - bare: a plain `new Worker(queue, processor, { concurrency: 50 })` in its own process
 *   (test/bench/fixtures/bare-worker.mjs), the same processor.
 *
 * Each round pre-fills a fresh queue (addBulk) before the process starts; throughput is counted from
 * the first completion to the last (BullMQ's completed set and its finishedOn scores), so start-up is
 * left out. Rounds alternate the two, so whatever else runs on the machine hurts both alike; figures
 * are medians, with the range.
 *
 * Two topologies: same cores (everything shares the machine's cores), and split (`taskset`: the
 * measured process, its worker processes and Redis on CPU 0, every Postgres process on CPU 1, put
 * back afterwards), the way a host runs with Postgres elsewhere (Neon in production).
 *
 * Then fed rounds, on the same cores: the queue starts with one job, and once the process runs it a
 * producer in this process adds the rest at SHIPPED_BENCH_FEED_RATE jobs a second, as producers do
 * on a queue in use. Pre-filled rounds never show what the queue watcher does with adds (its
 * cursor starts after them); fed rounds do. Their pace is the producer's, so they have no target:
 * their figures are the CPU per job.
 *
 * Per 1,000 jobs, the CPU time each process spent between the first completion and the last: the
 * worker process(es), the supervisor, Redis (INFO cpu) and Postgres (every postgres process, from
 * /proc). And Redis's `INFO commandstats` per job: calls and microseconds per call for each command.
 *
 * Every job of every watchtower round must be recorded in Postgres as completed; the bench exits 1
 * when one is missing.
 *
 * Environment: WATCHTOWER_BENCH_SHIPPED_DATABASE_URL (…/watchtower_bench_shipped),
 * WATCHTOWER_BENCH_SHIPPED_REDIS_URL (redis://127.0.0.1:6379/10), SHIPPED_BENCH_JOBS (20000),
 * SHIPPED_BENCH_ROUNDS (5), SHIPPED_BENCH_SPLIT (1; 0 to skip the split topology),
 * SHIPPED_BENCH_CPU_PROF (a directory: the bare worker, the supervisor and its worker processes
 * write V8 CPU profiles there), SHIPPED_BENCH_NEIGHBOUR (1; 0 skips the bare-neighbour rounds),
 * SHIPPED_BENCH_FEED_RATE (3000 jobs/s; 0 skips the fed rounds).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateDatabase } from '../../drizzle/migrate';
import { bundleWorkerHost } from '../../scripts/build-worker-host';
import { ensureDatabase, ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { fillQueue, processCpuMs } from '../worker-host/fixtures/recorder-harness';
import { repoRoot } from '../worker-host/harness';
import { canPin, pidsOf, pinning } from './cpu-affinity';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_SHIPPED_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/watchtower_bench_shipped';
const REDIS_URL = process.env.WATCHTOWER_BENCH_SHIPPED_REDIS_URL ?? 'redis://127.0.0.1:6379/10';
const JOBS = Number(process.env.SHIPPED_BENCH_JOBS ?? 20_000);
const ROUNDS = Number(process.env.SHIPPED_BENCH_ROUNDS ?? 5);
const SPLIT = process.env.SHIPPED_BENCH_SPLIT !== '0';
const CPU_PROF = process.env.SHIPPED_BENCH_CPU_PROF;
const NEIGHBOUR = process.env.SHIPPED_BENCH_NEIGHBOUR !== '0';
/** Jobs a second the producer offers in the fed rounds; 0 skips them. */
const FEED_RATE = Number(process.env.SHIPPED_BENCH_FEED_RATE ?? 3_000);
/** The producer adds this many jobs at a time, on a wall-clock schedule. */
const FEED_BATCH = 100;
/** Of every NEIGHBOUR_PERIOD_MS, the neighbour spins this long. */
const NEIGHBOUR_BUSY_MS = 5;
const NEIGHBOUR_PERIOD_MS = 20;
const CONCURRENCY = 50;
/**
 * The targets the issue sets for the ratio of medians. `fed` has none: its producer sets the pace,
 * and what it shows is the CPU each job costs while producers add jobs as workers run them.
 */
const TARGETS = { same: 0.8, split: 0.9, fed: undefined } as const;

const fixtures = join(repoRoot, 'test/bench/fixtures');
/** The package's CLI as installed, bundled at the start of main(). */
let cli = '';
const run = Math.random().toString(36).slice(2, 8);

/**
 * `bare-neighbour` explains a figure, it is not a target: bare BullMQ in the split topology while a
 * process keeps CPU 1 (Postgres's) busy a quarter of the time, about what Postgres uses there while
 * watchtower runs. Whether bare BullMQ on CPU 0 slows down when the other CPU works tells whether
 * the split topology isolates the host from Postgres on this machine (shared caches, or two
 * virtual CPUs on one physical core).
 */
type Variant = 'bare' | 'watchtower' | 'bare-neighbour';
type Topology = keyof typeof TARGETS;

interface CpuShare {
  worker: number;
  supervisor: number;
  redis: number;
  postgres: number;
  /**
   * Of the worker's and Redis's CPU, what the kernel spent on their behalf (socket writes and
   * reads, waking each other): it grows when more processes share the CPUs, whatever they run.
   */
  workerKernel: number;
  redisKernel: number;
}

interface Round {
  variant: Variant;
  jobsPerSecond: number;
  /** Resident memory of the worker process (the bare worker, or watchtower's one worker process). */
  workerRssMb: number;
  cpu: CpuShare;
  /** Redis command → [calls per job, µs per call]. */
  commands: Map<string, [number, number]>;
  /** watchtower: from the last completion until every job was in Postgres. */
  recordedAfterMs?: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

async function redisCpuMs(redis: Redis, part: 'all' | 'kernel' = 'all'): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return ((part === 'all' ? field('used_cpu_user') : 0) + field('used_cpu_sys')) * 1000;
}

/**
 * CPU ms of each Postgres backend serving the bench's database (other databases on a shared
 * machine are not this run's), by pid: backends come and go between two readings (pools close idle
 * clients), so the cost of a round is the sum of per-backend differences, never a difference of sums.
 */
async function postgresCpuByPid(client: pg.Client): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  return new Map(rows.map((row) => [row.pid, processCpuMs([row.pid])]));
}

async function postgresCpuSince(client: pg.Client, before: Map<number, number>): Promise<number> {
  let total = 0;
  for (const [pid, now] of await postgresCpuByPid(client)) total += now - (before.get(pid) ?? 0);
  return total;
}

/** VmRSS of a process, in MB (0 when it is gone). */
function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // ended meanwhile
    }
  }
  return kb / 1024;
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

function writeConfig(dir: string, queue: string): string {
  const path = join(dir, `watchtower.${queue}.json`);
  const config = {
    connections: { default: { url: REDIS_URL } },
    supervisors: [
      { name: `bench-${queue}`, queues: [queue], minProcesses: 1, maxProcesses: 1, concurrency: CONCURRENCY },
    ],
    processors: { '*': join(fixtures, 'noop-processor.mjs') },
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

function startProcess(variant: Variant, queue: string, dir: string, topology: Topology): ChildProcess {
  const profile = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const command =
    variant !== 'watchtower'
      ? [
          process.execPath,
          ...profile,
          join(fixtures, 'bare-worker.mjs'),
          queue,
          REDIS_URL,
          String(CONCURRENCY),
        ]
      : [process.execPath, ...profile, cli, 'supervisor', `--config=${writeConfig(dir, queue)}`];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL,
    WATCHTOWER_COMMAND_BUS: 'database',
    WATCHTOWER_STATE_DIR: join(dir, 'state'),
  };
  // The supervisor's worker processes take the same profiling flags.
  if (CPU_PROF) env.WATCHTOWER_WORKER_NODE_OPTIONS = profile.join(' ');
  delete env.WATCHTOWER_CONFIG;
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  // Pinned from the start, so worker processes forked later inherit CPU 0.
  const argv = topology === 'split' ? ['taskset', '-c', '0', ...command] : command;
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && code !== null)
      process.stderr.write(`${variant} exited ${code}: ${stderr}\n`);
  });
  return child;
}

/** The measured processes: the process itself (through taskset, its exec'd self) and its children. */
function measuredPids(child: ChildProcess, variant: Variant): { worker: number[]; supervisor: number[] } {
  const top = child.pid ?? -1;
  if (variant !== 'watchtower') return { worker: [top], supervisor: [] };
  // Its worker processes only: a supervisor may have other children (esbuild's service while it
  // compiles).
  const workers = childrenOf(top).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('worker');
    } catch {
      return false;
    }
  });
  return { worker: workers, supervisor: [top] };
}

/** A process on CPU 1 that spins NEIGHBOUR_BUSY_MS of every NEIGHBOUR_PERIOD_MS. */
function startNeighbour(): ChildProcess {
  const loop = `setInterval(() => { const end = Date.now() + ${NEIGHBOUR_BUSY_MS}; while (Date.now() < end); }, ${NEIGHBOUR_PERIOD_MS});`;
  return spawn('taskset', ['-c', '1', process.execPath, '-e', loop], { stdio: 'ignore' });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(force);
}

/**
 * Adds `count` jobs at FEED_RATE a second, FEED_BATCH at a time, on a wall-clock schedule (a slow
 * add is caught up, not carried over), numbered on from the round's first job.
 */
async function feed(queue: Queue, count: number): Promise<void> {
  const start = Date.now();
  for (let added = 0; added < count; added += FEED_BATCH) {
    const n = Math.min(FEED_BATCH, count - added);
    await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'job', data: { i: added + k + 1 } })));
    const due = start + ((added + n) * 1000) / FEED_RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function runRound(
  variant: Variant,
  topology: Topology,
  round: number,
  probes: { redis: Redis; postgres: pg.Client },
): Promise<Round> {
  const queueName = `ship-${run}-${topology}-${round}-${variant}`;
  const queue = new Queue(queueName, { connection: { url: REDIS_URL } });
  const dir = mkdtempSync(join(tmpdir(), 'watchtower-shipped-'));
  try {
    // Fed rounds start with one job, which tells when the process runs; the rest come from the
    // producer once the watcher holds the queue, as on a queue in use.
    const fed = topology === 'fed';
    await fillQueue(queue, fed ? 1 : JOBS);
    const completedKey = `bull:${queueName}:completed`;
    await probes.redis.config('RESETSTAT');
    const neighbour = variant === 'bare-neighbour' ? startNeighbour() : undefined;
    const child = startProcess(variant, queueName, dir, topology);
    // The clock starts at the first completion: start-up (module loading, the supervisor compiling
    // the worker entry, connecting) is the same whatever the load, and not what a job costs.
    let first = 0;
    while (first === 0) {
      if (child.exitCode !== null) throw new Error(`${variant} exited before its first job`);
      first = await probes.redis.zcard(completedKey);
      if (first === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    let feeding: Promise<void> | undefined;
    if (fed) {
      // The watcher takes its lease with its first sweep at start: give it time to, as a host that
      // has been running would have.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      // The clock starts at the one job already done (`first`, 1): the producer adds the rest.
      feeding = feed(queue, JOBS - 1);
    }
    const pids = measuredPids(child, variant);
    const startCpu = {
      worker: processCpuMs(pids.worker),
      supervisor: processCpuMs(pids.supervisor),
      redis: await redisCpuMs(probes.redis),
      postgres: await postgresCpuByPid(probes.postgres),
      workerKernel: processCpuMs(pids.worker, 'kernel'),
      redisKernel: await redisCpuMs(probes.redis, 'kernel'),
    };
    const stats0 = await commandStats(probes.redis);
    let done = first;
    const deadline = Date.now() + 600_000;
    while (done < JOBS) {
      if (Date.now() > deadline) throw new Error(`${variant}: ${done} of ${JOBS} jobs after 10 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      done = await probes.redis.zcard(completedKey);
    }
    await feeding;
    const lastCompletion = Date.now();
    // After the run, under the same load: what the worker process holds once it ran every job.
    const workerRssMb = rssMb(pids.worker);
    const measuredJobs = JOBS - first;
    const per1000 = (ms: number) => (ms * 1000) / measuredJobs;
    const cpu: CpuShare = {
      worker: per1000(processCpuMs(pids.worker) - startCpu.worker),
      supervisor: per1000(processCpuMs(pids.supervisor) - startCpu.supervisor),
      redis: per1000((await redisCpuMs(probes.redis)) - startCpu.redis),
      postgres: per1000(await postgresCpuSince(probes.postgres, startCpu.postgres)),
      workerKernel: per1000(processCpuMs(pids.worker, 'kernel') - startCpu.workerKernel),
      redisKernel: per1000((await redisCpuMs(probes.redis, 'kernel')) - startCpu.redisKernel),
    };
    const stats1 = await commandStats(probes.redis);
    const commands = new Map<string, [number, number]>();
    for (const [name, after] of stats1) {
      const before = stats0.get(name) ?? { calls: 0, usec: 0 };
      const calls = after.calls - before.calls;
      if (calls > 0) commands.set(name, [calls / measuredJobs, (after.usec - before.usec) / calls]);
    }
    const scores = await probes.redis.zrange(completedKey, '0', '-1', 'WITHSCORES');
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let i = 1; i < scores.length; i += 2) {
      // A fed round's first job ran before the producer started.
      if (fed && scores[i - 1] === '1') continue;
      const at = Number(scores[i]);
      if (at < min) min = at;
      if (at > max) max = at;
    }
    const jobsPerSecond = ((JOBS - 1) * 1000) / Math.max(1, max - min);

    let recordedAfterMs: number | undefined;
    if (variant === 'watchtower') {
      // Every job recorded, or the bench fails: a fast host that loses records is no result.
      const recordDeadline = Date.now() + 120_000;
      for (;;) {
        const { rows } = await probes.postgres.query<{ n: string }>(
          `select count(*) as n from watchtower_jobs where connection = 'default' and queue = $1 and status = 'completed'`,
          [queueName],
        );
        const recorded = Number(rows[0]?.n ?? 0);
        if (recorded >= JOBS) break;
        if (Date.now() > recordDeadline) {
          throw new Error(
            `${queueName}: only ${recorded} of ${JOBS} jobs recorded as completed after 2 minutes`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      recordedAfterMs = Date.now() - lastCompletion;
      // The supervisor and Postgres finish recording the round's last few thousand jobs only now
      // (one flush interval and a statement after the last completion): read at the last completion,
      // their share per job came out 15–25% short on 20,000-job rounds.
      cpu.supervisor = per1000(processCpuMs(pids.supervisor) - startCpu.supervisor);
      cpu.postgres = per1000(await postgresCpuSince(probes.postgres, startCpu.postgres));
    }
    await stopProcess(child);
    if (neighbour) await stopProcess(neighbour);
    return {
      variant,
      jobsPerSecond,
      workerRssMb,
      cpu,
      commands,
      ...(recordedAfterMs === undefined ? {} : { recordedAfterMs }),
    };
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function report(topology: Topology, rounds: Round[]): boolean {
  const of = (variant: Variant) => rounds.filter((round) => round.variant === variant);
  const bare = of('bare');
  const shipped = of('watchtower');
  const neighbour = of('bare-neighbour');
  // The explaining column, when this topology ran it.
  const columns = neighbour.length > 0 ? [bare, shipped, neighbour] : [bare, shipped];
  const row = (label: string, cell: (list: Round[]) => string) =>
    console.log(`| ${label} | ${columns.map(cell).join(' | ')} |`);
  const rate = (list: Round[]) => list.map((round) => round.jobsPerSecond);
  const ratio = median(rate(shipped)) / median(rate(bare));
  const range = (list: Round[]) => `${fmt(Math.min(...rate(list)))}–${fmt(Math.max(...rate(list)))}`;
  const headings = {
    same: 'Same cores',
    split: 'Split: host + Redis on CPU 0, Postgres on CPU 1',
    fed: `Fed: same cores, a producer adding ${fmt(FEED_RATE)} jobs/s while the worker runs them`,
  };
  console.log(`\n## ${headings[topology]}`);
  if (topology === 'fed')
    console.log(
      'The producer sets the pace (no target): what the figures show is the CPU a job costs on a queue in use, where the watcher reads every add.',
    );
  const neighbourHead = neighbour.length > 0 ? ' bare BullMQ, CPU 1 busy 25% (explains, no target) |' : '';
  console.log(`| | bare BullMQ | watchtower supervisor |${neighbourHead}`);
  console.log(`|---|---|---|${neighbour.length > 0 ? '---|' : ''}`);
  row(`jobs/s, median of ${bare.length}`, (list) => fmt(median(rate(list))));
  row('jobs/s, range', range);
  const target = TARGETS[topology];
  row('ratio of medians', (list) => {
    if (list === bare) return '';
    const r = median(rate(list)) / median(rate(bare));
    if (list !== shipped) return `${r.toFixed(2)} of bare`;
    return target === undefined
      ? `${r.toFixed(2)} (no target)`
      : `**${r.toFixed(2)}** (target ≥ ${target.toFixed(2)}: ${r >= target ? 'met' : 'not met'})`;
  });
  for (const part of ['worker', 'supervisor', 'redis', 'postgres'] as const) {
    row(`CPU per 1,000 jobs: ${part}`, (list) =>
      part === 'supervisor' && list !== shipped
        ? '—'
        : `${fmt(median(list.map((round) => round.cpu[part])), 1)} ms`,
    );
  }
  for (const part of ['workerKernel', 'redisKernel'] as const) {
    row(
      `… of which in the kernel: ${part === 'workerKernel' ? 'worker' : 'redis'}`,
      (list) => `${fmt(median(list.map((round) => round.cpu[part])), 1)} ms`,
    );
  }
  row(
    'worker process RSS after the round',
    (list) => `${fmt(median(list.map((round) => round.workerRssMb)))} MB`,
  );
  const recorded = shipped.map((round) => round.recordedAfterMs ?? 0);
  row('every job in Postgres, after the last completion', (list) =>
    list === shipped ? `${fmt(median(recorded))} ms (median)` : '',
  );
  const names = new Set<string>();
  for (const round of rounds) for (const name of round.commands.keys()) names.add(name);
  const cell = (list: Round[], name: string) => {
    const rows = list.map((round) => round.commands.get(name)).filter((value) => value !== undefined);
    if (rows.length === 0) return '—';
    const calls = median(rows.map((value) => value[0]));
    return `${calls.toFixed(calls < 0.01 ? 5 : 3)} × ${median(rows.map((value) => value[1])).toFixed(1)} µs`;
  };
  console.log(`\nRedis commands per job (calls × µs per call, medians):`);
  console.log(`| command | bare | watchtower |${neighbour.length > 0 ? ' bare, CPU 1 busy |' : ''}`);
  console.log(`|---|---|---|${neighbour.length > 0 ? '---|' : ''}`);
  for (const name of [...names].sort()) {
    const perJob = median(shipped.concat(bare).map((round) => round.commands.get(name)?.[0] ?? 0));
    // A command called a few times a round can still cost Redis per job: the queue watcher's
    // filtered stream read (`eval`) is a few calls a round that read every job's events.
    const usPerJob = Math.max(
      ...columns.map((list) =>
        median(
          list.map((round) => {
            const [calls, usPerCall] = round.commands.get(name) ?? [0, 0];
            return calls * usPerCall;
          }),
        ),
      ),
    );
    if (perJob < 0.001 && usPerJob < 0.05) continue;
    console.log(`| ${name} | ${columns.map((list) => cell(list, name)).join(' | ')} |`);
  }
  return target === undefined || ratio >= target;
}

async function main(): Promise<void> {
  await Promise.all([ensurePostgres(), ensureRedis()]);
  await ensureDatabase(DATABASE_URL);
  await migrateDatabase(DATABASE_URL);
  const bundle = join(repoRoot, '.build', 'bench-cli', String(process.pid));
  rmSync(bundle, { recursive: true, force: true });
  await bundleWorkerHost(bundle);
  cli = join(bundle, 'cli.mjs');
  const redis = new Redis(REDIS_URL);
  const postgres = new pg.Client({ connectionString: DATABASE_URL });
  await postgres.connect();
  const probes = { redis, postgres };
  console.log(
    `# The shipped worker-host against bare BullMQ: ${fmt(JOBS)} jobs a round, ${ROUNDS} rounds each, alternating, concurrency ${CONCURRENCY}, one worker process`,
  );
  console.log(
    `node ${process.version}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'cpu unknown'}`,
  );
  const topologies: Topology[] = ['same'];
  if (SPLIT && canPin() && pidsOf('postgres').length > 0 && pidsOf('redis-server').length > 0)
    topologies.push('split');
  else
    console.log(
      '(split topology skipped: needs Linux, taskset, two CPUs and local postgres and redis-server)',
    );
  if (FEED_RATE > 0) topologies.push('fed');
  let failed = false;
  try {
    for (const topology of topologies) {
      const pins = pinning();
      if (topology === 'split') {
        for (const pid of pidsOf('redis-server')) pins.pin(pid, '0');
        for (const pid of pidsOf('postgres')) pins.pin(pid, '1');
      }
      try {
        const rounds: Round[] = [];
        // One round of each first, not counted: a cold Redis, Postgres and page cache.
        for (const variant of ['bare', 'watchtower'] as const) await runRound(variant, topology, 0, probes);
        for (let round = 1; round <= ROUNDS; round++) {
          const order: Variant[] = round % 2 ? ['bare', 'watchtower'] : ['watchtower', 'bare'];
          if (topology === 'split' && NEIGHBOUR) order.push('bare-neighbour');
          for (const variant of order) {
            const result = await runRound(variant, topology, round, probes);
            rounds.push(result);
            process.stderr.write(
              `${topology} round ${round} ${variant}: ${fmt(result.jobsPerSecond)} jobs/s\n`,
            );
          }
        }
        report(topology, rounds);
      } finally {
        pins.restore();
      }
    }
  } catch (error) {
    console.error(`\nshipped bench failed: ${(error as Error).message}`);
    failed = true;
  } finally {
    redis.disconnect();
    await postgres.end();
    rmSync(bundle, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

await main();
