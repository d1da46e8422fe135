/**
 * `npx tsx test/bench/recorder.bench.ts`: what recording every job's life costs a worker.
 *
 * Side by side in one run, same jobs (no-op processor), same concurrency, same local Redis, each
 * worker in its own child process with the queue filled (addBulk) before the clock starts:
 *
 * - bare: a BullMQ Worker and nothing else;
 * - recorded: the same Worker with `attachJobEvents`, sending over IPC to a Recorder in this
 *   process (the supervisor's place) that writes to Postgres;
 * - recorded + watcher: the same, with the queue watcher (event stream and sweep) running too,
 *   and the queued rows of the pre-filled jobs already written (so completions update rows);
 * - naive (reference, fewer jobs): one INSERT when a job starts and one UPDATE when it ends.
 *
 * Then the same variants again with the host on one core and Postgres on the other (`taskset`:
 * this process, its worker process and Redis on CPU 0, every Postgres process on CPU 1, put back
 * afterwards), the way a host runs with Postgres on another machine: there the wall-clock ratio is
 * what recording costs the host itself. Skipped where it cannot be done (not Linux, one CPU, remote
 * services) or with RECORDER_BENCH_SPLIT=0.
 *
 * Rounds alternate the variants so that whatever else runs on the machine hurts them alike; the
 * figures are medians and bests. Each run also reports the CPU time every process spent per 1,000
 * jobs (worker process, this process as supervisor, Redis, the Postgres backends of the benchmark
 * database): when the bare run already saturates the cores, jobs/s go as the inverse of total CPU
 * per job, so the CPU ratio is what the wall-clock ratio tends to, far less disturbed by other load
 * on a shared machine; the same ratio without Postgres's share is what a host pays when Postgres
 * runs elsewhere (Neon in production). Environment: WATCHTOWER_BENCH_DATABASE_URL, WATCHTOWER_BENCH_REDIS_URL,
 * RECORDER_BENCH_JOBS (20000), RECORDER_BENCH_ROUNDS (5), RECORDER_BENCH_CONCURRENCY (50),
 * RECORDER_BENCH_NAIVE_JOBS (3000, 0 to skip), RECORDER_BENCH_WATCHER (1, 0 to skip),
 * RECORDER_BENCH_SPLIT (1, 0 to skip), RECORDER_CPU_PROF
 * (a directory: each worker process writes a V8 CPU profile there).
 *
 * Reading the figures: once the bare worker saturates the machine's cores, the wall-clock ratio
 * follows the CPU ratio, and a ratio of 0.90 leaves the recording about a tenth of the bare CPU
 * per job, every process together. A Postgres on the same cores spends about three times that on
 * its own (the row upserts and their index entries: 25–27 ms per 1,000 jobs on 2026-12-05, against
 * a bare total of 90–98), so there the wall-clock ratio stays near the CPU ratio.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase, ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { watchQueues } from '../../worker-host/recorder/queue-watcher';
import { createRecorder, type Recorder, type RecorderStats } from '../../worker-host/recorder/recorder';
import {
  fillQueue,
  pollUntil,
  processCpuMs,
  startRecorderChild,
} from '../worker-host/fixtures/recorder-harness';
import { canPin, pidsOf, pinning } from './cpu-affinity';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower_bench';
const REDIS_URL = process.env.WATCHTOWER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOBS = Number(process.env.RECORDER_BENCH_JOBS ?? 20_000);
const ROUNDS = Number(process.env.RECORDER_BENCH_ROUNDS ?? 5);
const CONCURRENCY = Number(process.env.RECORDER_BENCH_CONCURRENCY ?? 50);
const NAIVE_JOBS = Number(process.env.RECORDER_BENCH_NAIVE_JOBS ?? 3_000);
const WITH_WATCHER = process.env.RECORDER_BENCH_WATCHER !== '0';
const SPLIT = process.env.RECORDER_BENCH_SPLIT !== '0';

/** Why the split topology cannot be run here, or undefined when it can. */
function splitUnavailable(): string | undefined {
  if (!canPin()) return 'needs Linux, taskset and two CPUs';
  const local = (url: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(url).hostname);
  if (!local(DATABASE_URL) || !local(REDIS_URL)) return 'Postgres and Redis must run on this machine';
  if (pidsOf('postgres').length === 0 || pidsOf('redis-server').length === 0) {
    return 'no local postgres or redis-server process found';
  }
  return undefined;
}

const run = Math.random().toString(36).slice(2, 8);
const hostId = `bench-${run}`;

type Variant = 'bare' | 'recorded' | 'recorded+watcher' | 'naive';

/** CPU milliseconds per 1,000 jobs spent by each process involved. */
interface CpuShare {
  worker: number;
  supervisor: number;
  redis: number;
  postgres: number;
}

interface Round {
  variant: Variant;
  jobs: number;
  jobsPerSecond: number;
  cpu: CpuShare;
  /** Recorded variants: from the clock's start until every row was in Postgres. */
  recordedThroughMs?: number;
  stats?: Pick<RecorderStats, 'statements' | 'written' | 'events'>;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

interface Probes {
  redis: Redis;
  postgres: pg.Client;
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/**
 * CPU ms of each Postgres backend serving the benchmark's database (the recorder's and the naive
 * writers'), by pid: backends come and go between two readings (pools close idle clients), so the
 * cost of a run is the sum of per-backend differences, never a difference of sums.
 */
async function postgresCpuByPid(client: pg.Client): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  return new Map(rows.map((r) => [r.pid, processCpuMs([r.pid])]));
}

/** CPU the backends spent between two readings; one that ended meanwhile loses its last share. */
function postgresCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += Math.max(0, ms - (before.get(pid) ?? 0));
  return total;
}

async function measure(
  variant: Variant,
  round: number,
  jobs: number,
  recorder: Recorder,
  db: ReturnType<typeof createNodeDatabase>['db'],
  probes: Probes,
): Promise<Round> {
  const queueName = `bench-recorder-${run}-${variant.replace('+', '-')}-${round}`;
  const queue = new Queue(queueName, { connection: { url: REDIS_URL } });
  const recording = variant === 'recorded' || variant === 'recorded+watcher';
  const watcher =
    variant === 'recorded+watcher'
      ? watchQueues({ db, connection: 'default', url: REDIS_URL, queues: [queueName], recorder, hostId })
      : undefined;
  try {
    if (watcher)
      await pollUntil(
        async () => watcher.stats().watching.length,
        (n) => n === 1,
        10_000,
        20,
      );
    await fillQueue(queue, jobs);
    if (watcher) {
      // The adds are the producer's work, not the worker's: let the watcher finish with them (it
      // sees what the stream still holds) and have them written before the clock starts.
      let last = -1;
      await pollUntil(
        async () => watcher.stats().added,
        (n) => {
          const settled = n > 0 && n === last;
          last = n;
          return settled;
        },
        60_000,
        1_000,
      );
      await recorder.flush();
    }
    const child = startRecorderChild({
      queue: queueName,
      url: REDIS_URL,
      mode: variant === 'naive' ? 'naive' : recording ? 'record' : 'bare',
      concurrency: CONCURRENCY,
      expect: jobs,
      autorun: false,
      hostId,
      databaseUrl: DATABASE_URL,
      onMessage: recording ? (m) => recorder.accept(m) : undefined,
    });
    await child.ready;
    const before = recorder.stats();
    const cpuBefore = {
      supervisor: process.cpuUsage(),
      redis: await redisCpuMs(probes.redis),
      postgres: await postgresCpuByPid(probes.postgres),
    };
    const started = performance.now();
    child.start();
    const { elapsedMs, cpuMs } = await child.done;
    const result: Round = {
      variant,
      jobs,
      jobsPerSecond: (jobs / elapsedMs) * 1000,
      cpu: { worker: cpuMs, supervisor: 0, redis: 0, postgres: 0 },
    };
    if (recording) {
      await pollUntil(
        async () => {
          await recorder.flush();
          return recorder.stats();
        },
        (s) => s.buffered === 0 && s.events - before.events >= jobs,
        60_000,
        10,
      );
      result.recordedThroughMs = performance.now() - started;
      const after = recorder.stats();
      result.stats = {
        statements: after.statements - before.statements,
        written: after.written - before.written,
        events: after.events - before.events,
      };
    }
    // Whatever each process spent from the start until every row was written (or the last job).
    const supervisor = process.cpuUsage(cpuBefore.supervisor);
    const perThousand = (ms: number) => (ms * 1000) / jobs;
    result.cpu = {
      worker: perThousand(cpuMs),
      supervisor: recording ? perThousand((supervisor.user + supervisor.system) / 1000) : 0,
      redis: perThousand((await redisCpuMs(probes.redis)) - cpuBefore.redis),
      postgres: perThousand(postgresCpuSince(cpuBefore.postgres, await postgresCpuByPid(probes.postgres))),
    };
    await child.stop();
    return result;
  } finally {
    await watcher?.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    // Rows of earlier runs would make every later run's inserts dearer (deeper indexes).
    for (const table of [
      'watchtower_job_attempts',
      'watchtower_jobs',
      'watchtower_metrics',
      'watchtower_recorder_cursors',
    ]) {
      await probes.postgres.query(`delete from ${table} where queue = $1`, [queueName]);
    }
  }
}

async function main(): Promise<void> {
  process.env.DATABASE_URL ??= DATABASE_URL;
  await Promise.all([ensurePostgres(DATABASE_URL), ensureRedis(REDIS_URL)]);
  await ensureDatabase(DATABASE_URL);
  await migrateDatabase(DATABASE_URL);
  const database = createNodeDatabase(DATABASE_URL);
  const recorder = createRecorder({ db: database.db, hostId });
  const probes: Probes = {
    redis: new Redis(REDIS_URL),
    postgres: new pg.Client({ connectionString: DATABASE_URL }),
  };
  await probes.postgres.connect();
  const rounds: Round[] = [];
  const splitRounds: Round[] = [];
  const variants: Variant[] = WITH_WATCHER ? ['bare', 'recorded', 'recorded+watcher'] : ['bare', 'recorded'];
  console.log(
    `Recorder benchmark: ${JOBS} no-op jobs per run, concurrency ${CONCURRENCY}, ${ROUNDS} rounds, Redis ${REDIS_URL}`,
  );
  const phase = async (phaseVariants: Variant[], into: Round[]) => {
    // A warm-up run of each, not counted: first connections, JIT, Postgres caches.
    for (const variant of phaseVariants) {
      await measure(variant, -1, Math.min(JOBS, 5_000), recorder, database.db, probes);
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither variant always runs right after the other.
      const order = round % 2 === 0 ? phaseVariants : [...phaseVariants].reverse();
      for (const variant of order) {
        const result = await measure(variant, round, JOBS, recorder, database.db, probes);
        into.push(result);
        const extra = result.stats
          ? `, all rows in Postgres after ${Math.round(result.recordedThroughMs ?? 0)} ms, ` +
            `${result.stats.statements} statements, ${Math.round(result.stats.written / Math.max(1, result.stats.statements))} rows/statement`
          : '';
        console.log(
          `  round ${round + 1} ${variant.padEnd(17)} ${Math.round(result.jobsPerSecond)} jobs/s${extra}; ${cpuText(result.cpu)}`,
        );
      }
    }
  };
  try {
    console.log('Postgres on the same cores as the worker:');
    await phase(variants, rounds);
    if (NAIVE_JOBS > 0) {
      const naive = await measure('naive', 0, NAIVE_JOBS, recorder, database.db, probes);
      rounds.push(naive);
      console.log(
        `  naive (${NAIVE_JOBS} jobs)        ${Math.round(naive.jobsPerSecond)} jobs/s; ${cpuText(naive.cpu)}`,
      );
    }
    if (SPLIT) {
      const why = splitUnavailable();
      if (why) console.log(`\nHost and Postgres on separate cores: skipped (${why}).`);
      else {
        console.log(
          '\nHost on CPU 0 (worker process, supervisor, Redis), Postgres on CPU 1, as with Postgres on another machine:',
        );
        const pins = pinning();
        // Interrupted, the bench must not leave Postgres and Redis pinned to one core each.
        const interrupted = () => {
          pins.restore();
          process.exit(130);
        };
        process.once('SIGINT', interrupted);
        process.once('SIGTERM', interrupted);
        try {
          pins.pin(process.pid, '0'); // the worker processes forked from here inherit it
          for (const pid of pidsOf('redis-server')) pins.pin(pid, '0');
          // The postmaster too, so the backends it forks from now on start there.
          for (const pid of pidsOf('postgres')) pins.pin(pid, '1');
          await phase(variants, splitRounds);
        } finally {
          pins.restore();
          process.off('SIGINT', interrupted);
          process.off('SIGTERM', interrupted);
        }
      }
    }
  } finally {
    await recorder.close();
    await database.close();
    probes.redis.disconnect();
    await probes.postgres.end();
  }

  const runsOf = (variant: Variant) => rounds.filter((r) => r.variant === variant);
  const medianOf = (variant: Variant) => median(runsOf(variant).map((r) => r.jobsPerSecond));
  const bestOf = (variant: Variant) => Math.max(0, ...runsOf(variant).map((r) => r.jobsPerSecond));
  const cpuOf = (variant: Variant): CpuShare => {
    const cpu = (key: keyof CpuShare) => median(runsOf(variant).map((r) => r.cpu[key]));
    return {
      worker: cpu('worker'),
      supervisor: cpu('supervisor'),
      redis: cpu('redis'),
      postgres: cpu('postgres'),
    };
  };
  const total = (c: CpuShare) => c.worker + c.supervisor + c.redis + c.postgres;
  const bareCpu = cpuOf('bare');
  console.log('');
  console.log(
    `bare BullMQ Worker             ${Math.round(medianOf('bare'))} jobs/s median, ${Math.round(bestOf('bare'))} best`,
  );
  for (const variant of ['recorded', 'recorded+watcher', 'naive'] as const) {
    if (runsOf(variant).length === 0) continue;
    const label = variant === 'naive' ? 'naive, one write per event' : `with ${variant.replace('+', ' + ')}`;
    const cpu = cpuOf(variant);
    // On a machine the bare run already saturates, jobs/s go as the inverse of CPU per job: the
    // CPU ratio is what the wall-clock ratio tends to, and is far less disturbed by other load.
    const cpuRatio = total(bareCpu) / total(cpu);
    const hostRatio = total(bareCpu) / (total(cpu) - cpu.postgres);
    console.log(
      `${label.padEnd(31)}${Math.round(medianOf(variant))} jobs/s median, ${Math.round(bestOf(variant))} best; ` +
        `ratio ${(medianOf(variant) / medianOf('bare')).toFixed(2)} (medians), ${(bestOf(variant) / bestOf('bare')).toFixed(2)} (bests), ` +
        `${cpuRatio.toFixed(2)} by CPU, ${hostRatio.toFixed(2)} by CPU without Postgres's` +
        (variant === 'recorded' ? '   target >= 0.90' : ''),
    );
  }
  console.log('');
  console.log('CPU ms per 1,000 jobs (median):');
  for (const variant of ['bare', 'recorded', 'recorded+watcher', 'naive'] as const) {
    if (runsOf(variant).length > 0) console.log(`  ${variant.padEnd(17)} ${cpuText(cpuOf(variant))}`);
  }
  const stats = recorder.stats();
  console.log(
    `recorder: ${stats.events} events, ${stats.statements} statements, ${stats.rowsPerStatement} rows/statement ` +
      `(jobs + attempts), retries ${stats.retries}, spilled ${stats.spilled}, dropped ${stats.dropped}`,
  );

  // The figures issue 3 asks for, on their own: medians of the rounds, ratios to the bare worker.
  const bare = medianOf('bare');
  const summary: [string, Variant, string][] = [
    ['bare BullMQ Worker', 'bare', ''],
    ['worker with recording', 'recorded', 'target >= 0.90'],
    ['recording + queue watcher', 'recorded+watcher', ''],
    ['naive, one write per event', 'naive', 'reference: ~0.15'],
  ];
  console.log(
    `\nSummary (median jobs/s over ${ROUNDS} rounds of ${JOBS} jobs; naive: one run of ${NAIVE_JOBS}):`,
  );
  for (const [label, variant, note] of summary) {
    if (runsOf(variant).length === 0) continue;
    const jobsPerSecond = medianOf(variant);
    const ratio = variant === 'bare' ? '' : `ratio ${(jobsPerSecond / bare).toFixed(2)}`;
    console.log(
      `  ${label.padEnd(28)}${String(Math.round(jobsPerSecond)).padStart(7)} jobs/s  ${ratio.padEnd(11)} ${note}`.trimEnd(),
    );
  }
  printSplit(splitRounds);
}

/** The split topology's figures: the wall-clock ratio with Postgres off the host's core. */
function printSplit(splitRounds: Round[]): void {
  const of = (variant: Variant) => splitRounds.filter((r) => r.variant === variant);
  if (of('bare').length === 0 || of('recorded').length === 0) return;
  const jobs = (variant: Variant) => median(of(variant).map((r) => r.jobsPerSecond));
  const cpu = (variant: Variant, key: keyof CpuShare) => median(of(variant).map((r) => r.cpu[key]));
  const host = (variant: Variant) =>
    cpu(variant, 'worker') + cpu(variant, 'supervisor') + cpu(variant, 'redis');
  console.log(
    `\nHost on one core, Postgres on the other (median jobs/s over ${ROUNDS} rounds of ${JOBS} jobs):`,
  );
  console.log(`  bare BullMQ Worker          ${String(Math.round(jobs('bare'))).padStart(7)} jobs/s`);
  for (const [variant, label, note] of [
    ['recorded', 'worker with recording', 'target >= 0.90'],
    ['recorded+watcher', 'recording + queue watcher', ''],
  ] as const) {
    if (of(variant).length === 0) continue;
    console.log(
      `  ${label.padEnd(28)}${String(Math.round(jobs(variant))).padStart(7)} jobs/s  ratio ${(jobs(variant) / jobs('bare')).toFixed(2)}  ${note}`.trimEnd(),
    );
    console.log(
      `    host CPU per 1,000 jobs ${host(variant).toFixed(1)} ms against bare ${host('bare').toFixed(1)} ` +
        `(ratio ${(host('bare') / host(variant)).toFixed(2)}); Postgres ${cpu(variant, 'postgres').toFixed(1)} ms on its own core`,
    );
  }
}

function cpuText(cpu: CpuShare): string {
  const total = cpu.worker + cpu.supervisor + cpu.redis + cpu.postgres;
  const f = (n: number) => n.toFixed(1);
  return `cpu/1k jobs: worker ${f(cpu.worker)}, supervisor ${f(cpu.supervisor)}, redis ${f(cpu.redis)}, postgres ${f(cpu.postgres)}, total ${f(total)} ms`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
