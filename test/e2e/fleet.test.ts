import { readFileSync } from 'node:fs';
import type { Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command, CommandBus } from '../../core/bus/command-bus';
import { rowsOf } from '../../core/db/database';
import { testEnv } from '../setup/test-env';
import {
  type HostProcess,
  hostRow,
  isAlive,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from '../worker-host/harness';

const HOSTS = 3;
const JOBS = 240;
/** BullMQ's stalled-job recovery, shortened from 30 s each: a dead host's jobs run again within seconds. */
const LOCK_SECONDS = 4;
const STALLED_CHECK_SECONDS = 2;
/** The configured deadAfter; the target is a dead host shown dead within 15 s. */
const DEAD_AFTER_SECONDS = 5;

interface JobRecord {
  job_id: string;
  status: string;
  attempts: number;
  worker_id: string | null;
}

interface AttemptRecord {
  job_id: string;
  attempt: number;
  status: string;
}

/**
 * A fleet: three `watchtower supervisor` processes serving the same queue on one Redis and one
 * Postgres. During a burst, one host (the one watching the queue for the recorder, the worst
 * one to lose) is killed with SIGKILL together with its worker processes: nothing of it gets to
 * say goodbye. The others finish every job (BullMQ's stalled-job recovery), Postgres ends with
 * what BullMQ says happened, once per attempt, the dead host is shown dead, commands addressed to
 * it expire, and commands for the connection or the supervisor are carried out by a live host.
 *
 * Its own connection name, so only these hosts claim the connection's commands.
 */
describe('a fleet of three hosts, one killed during a burst', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const connection = uniqueName('fl-connection');
  const supervisor = uniqueName('fl-supervisor');
  const queueName = uniqueName('fl-queue');
  const queue = testQueue(queueName);
  const redis = new Redis(testEnv.redisUrl);
  let bus: CommandBus;
  let hosts: HostProcess[] = [];
  /** How long each step took after the kill (information, not an assertion). */
  const phases: string[] = [];

  const answered = (id: string, timeoutMs: number): Promise<Command> =>
    waitFor(
      async () => {
        const command = await bus.find(id);
        return command && ['done', 'failed', 'expired'].includes(command.status) ? command : undefined;
      },
      timeoutMs,
      `command ${id} to be answered`,
    );

  beforeAll(async () => {
    bus = openTestBus(db);
    const config = writeConfig(
      scratch.dir,
      [
        {
          name: supervisor,
          queues: [queueName],
          minProcesses: 1,
          maxProcesses: 1,
          concurrency: 5,
          lockDuration: LOCK_SECONDS,
          stalledInterval: STALLED_CHECK_SECONDS,
        },
      ],
      { deadAfter: DEAD_AFTER_SECONDS, commandLease: 5 },
      { connection },
    );
    hosts = await Promise.all(Array.from({ length: HOSTS }, () => startHost(config, db)));
  });

  afterAll(async () => {
    if (phases.length > 0) console.log(`fleet, after the kill: ${phases.join(', ')}`);
    await Promise.all(hosts.filter((host) => host.running).map((host) => host.stop()));
    await killAllHosts();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
    await bus?.close();
    await database.close();
    scratch.cleanup();
  });

  it('loses nothing, records each attempt once, and routes commands around the dead host', async () => {
    // The victim: the host that holds the queue watcher's lease (it sweeps for what others missed).
    const hostIds = hosts.map((host) => host.hostId);
    const watcher = await waitFor(
      async () => {
        const rows = rowsOf<{ owner: string | null }>(
          await db.execute(sql`select owner from watchtower_recorder_cursors
                               where connection = ${connection} and queue = ${queueName}`),
        );
        const owner = rows[0]?.owner;
        return owner && hostIds.includes(owner) ? owner : undefined;
      },
      20_000,
      'a host to watch the queue',
    );
    const victim = hosts.find((host) => host.hostId === watcher)!;
    const survivors = hosts.filter((host) => host !== victim);
    const survivorIds = survivors.map((host) => host.hostId);

    // The configured lock reaches BullMQ: a running job's lock lasts LOCK_SECONDS, not 30 s.
    const lockMs = async (job: Job) => redis.pttl(`${queue.toKey(String(job.id))}:lock`);
    let lockSeen = 0;

    await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({
        name: 'burst',
        data: { ms: 300 + (i % 7) * 50, label: `burst-${i}` },
      })),
    );

    // Mid-burst, with jobs of its own running: its worker processes first (a supervisor that goes
    // first would have them leave gracefully), then the supervisor itself.
    const victimWorkers = await workersOf(db, victim.hostId);
    const victimWorkerIds = new Set(victimWorkers.map((w) => w.worker_id));
    const cutOff = await waitFor(
      async () => {
        const counts = await queue.getJobCounts('completed');
        if ((counts.completed ?? 0) < JOBS / 5) return undefined;
        const active = (await queue.getActive()) as Job[];
        for (const job of active) lockSeen = Math.max(lockSeen, await lockMs(job));
        const mine = active.filter((job) => job.processedBy && victimWorkerIds.has(job.processedBy));
        // A lock read after its job ended is gone (-2): on a busy machine every job listed can end
        // before its lock is read, so the wait goes on until one lock was seen too.
        return mine.length > 0 && lockSeen > 0 ? mine.map((job) => String(job.id)) : undefined;
      },
      30_000,
      'the victim to be running jobs mid-burst',
    );
    expect(lockSeen).toBeGreaterThan(0);
    expect(lockSeen).toBeLessThanOrEqual(LOCK_SECONDS * 1000);
    for (const worker of victimWorkers) if (worker.pid) process.kill(worker.pid, 'SIGKILL');
    victim.kill();
    const killedAt = Date.now();
    const phase = (what: string) => phases.push(`${what} +${Date.now() - killedAt} ms`);
    await victim.exited;
    await waitFor(
      () => victimWorkers.every((worker) => !worker.pid || !running(worker.pid)),
      10_000,
      'the killed worker processes to be gone',
    );
    expect(await queue.getJobCounts('completed')).not.toEqual({ completed: JOBS });

    // Commands: to the dead host and to one of its worker processes (they expire, unclaimed), to the
    // connection and to the supervisor (a live host carries them out).
    const [victimWorker] = victimWorkers;
    const toHost = await bus.send({
      target: { kind: 'host', id: victim.hostId },
      type: 'host.reload',
      ttl: 8,
    });
    const toWorker = await bus.send({
      target: { kind: 'worker', id: victimWorker!.worker_id },
      type: 'worker.pause',
      ttl: 8,
    });
    const toConnection = await bus.send({
      target: { kind: 'connection', id: connection },
      type: 'queue.resume',
      args: { queue: queueName },
      ttl: 60,
    });
    const toSupervisor = await bus.send({
      target: { kind: 'supervisor', id: supervisor },
      type: 'worker.start',
      args: { queue: queueName },
      ttl: 60,
    });

    phase('commands sent');
    // Shown dead within 15 s, workers included.
    await waitFor(
      async () => (await hostRow(db, victim.hostId))?.status === 'dead',
      15_000 - (Date.now() - killedAt),
      'the killed host to be marked dead',
    );
    expect((await workersOf(db, victim.hostId)).map((w) => w.status)).toEqual(
      victimWorkers.map(() => 'dead'),
    );
    // Only it: the others go on beating (a beat late under load would be marked dead and revive).
    await waitFor(
      async () => {
        const rows = await Promise.all(survivors.map((host) => hostRow(db, host.hostId)));
        return rows.every((row) => row?.status === 'running');
      },
      10_000,
      'the other hosts to show running',
    );

    phase('dead');
    for (const sent of [toConnection, toSupervisor]) {
      const done = await answered(sent.id, 30_000);
      expect(done.status, `${sent.type}: ${done.error ?? ''}`).toBe('done');
      expect(survivorIds).toContain(done.claimedBy);
    }
    for (const sent of [toHost, toWorker]) {
      const expired = await answered(sent.id, 30_000);
      expect(expired.status, sent.type).toBe('expired');
      expect(expired.claimedBy).toBeNull();
    }

    phase('commands answered');
    // Every job finishes: those cut off on the dead host run again as stalled, on the others.
    await waitFor(
      async () => (await queue.getJobCounts('completed')).completed === JOBS,
      45_000,
      `all ${JOBS} jobs to complete in BullMQ`,
    );
    const jobs = (await queue.getJobs(['completed'], 0, JOBS)) as Job[];
    expect(jobs).toHaveLength(JOBS);
    const byId = new Map(jobs.map((job) => [String(job.id), job]));
    const rerun = cutOff.filter((id) => (byId.get(id)?.attemptsStarted ?? 0) >= 2);
    expect(rerun.length, 'jobs cut off on the dead host ran again').toBeGreaterThan(0);

    phase('bullmq complete');
    // Postgres ends where BullMQ did: one row per job, completed, at BullMQ's attempt count.
    const records = await waitFor(
      async () => {
        const rows = rowsOf<JobRecord>(
          await db.execute(sql`select job_id, status, attempts::int, worker_id from watchtower_jobs
                               where connection = ${connection} and queue = ${queueName}`),
        );
        return rows.length === JOBS && rows.every((row) => row.status === 'completed') ? rows : undefined;
      },
      45_000,
      `all ${JOBS} jobs to be recorded completed`,
    );
    phase('recorded');
    const attempts = rowsOf<AttemptRecord>(
      await db.execute(sql`select job_id, attempt, status from watchtower_job_attempts
                           where connection = ${connection} and queue = ${queueName}`),
    );
    const attemptsOf = new Map<string, AttemptRecord[]>();
    for (const row of attempts) attemptsOf.set(row.job_id, [...(attemptsOf.get(row.job_id) ?? []), row]);
    for (const record of records) {
      const job = byId.get(record.job_id);
      expect(job, `job ${record.job_id} in BullMQ`).toBeDefined();
      const runs = job!.attemptsStarted;
      expect(record.attempts, `job ${record.job_id}: attempts`).toBe(runs);
      const rows = (attemptsOf.get(record.job_id) ?? []).sort((a, b) => a.attempt - b.attempt);
      // At most one row per run, none beyond BullMQ's count, none left running.
      expect(rows.every((row) => row.attempt >= 1 && row.attempt <= runs)).toBe(true);
      expect(new Set(rows.map((row) => row.attempt)).size).toBe(rows.length);
      expect(rows.filter((row) => row.status === 'processing')).toEqual([]);
      if (runs > 1) {
        // Every run is there: the ones cut off as stalled, the last as completed.
        expect(rows.map((row) => row.attempt)).toEqual(Array.from({ length: runs }, (_, i) => i + 1));
        expect(rows.at(-1)?.status).toBe('completed');
        expect(rows.slice(0, -1).every((row) => row.status === 'stalled')).toBe(true);
      }
    }
    // Counted once each in the per-minute metrics, whoever recorded them.
    const [counted] = rowsOf<{ queued: number; completed: number }>(
      await db.execute(sql`select coalesce(sum(queued), 0)::int as queued, coalesce(sum(completed), 0)::int as completed
                           from watchtower_metrics where connection = ${connection} and queue = ${queueName}`),
    );
    expect(counted).toEqual({ queued: JOBS, completed: JOBS });
  }, 150_000);
});

/** Alive and not a zombie (a killed child whose parent died too waits for init to reap it). */
function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
