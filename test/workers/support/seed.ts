import { inArray, sql } from 'drizzle-orm';
import type { ClaimedCommand, CommandBus, CommandTarget } from '../../../core/bus/command-bus';
import type { NeonDb } from '../../../core/db/neon-database';
import { hosts, jobAttempts, jobs, metrics, metricsHourly, workers } from '../../../drizzle/schema';

/**
 * Test rows for the route suites. The database is shared with other suites running at the same
 * time: every seed uses names the caller made unique, and `cleanup()` removes exactly what was seeded.
 */

export type JobInsert = typeof jobs.$inferInsert;
export type HostInsert = typeof hosts.$inferInsert;
export type WorkerInsert = typeof workers.$inferInsert;
export type MetricInsert = typeof metrics.$inferInsert;
export type AttemptInsert = typeof jobAttempts.$inferInsert;

export interface SeededJob {
  id: number;
  jobId: string;
  queue: string;
  connection: string;
  status: string;
  queuedAt: Date;
}

export class Seed {
  readonly #jobIds: number[] = [];
  readonly #hostIds: string[] = [];
  readonly #workerIds: string[] = [];
  readonly #metricQueues = new Set<string>();
  readonly #attemptQueues = new Set<string>();

  constructor(private readonly db: NeonDb) {}

  async jobs(rows: JobInsert[]): Promise<SeededJob[]> {
    if (rows.length === 0) return [];
    const inserted = await this.db.insert(jobs).values(rows).returning({
      id: jobs.id,
      jobId: jobs.jobId,
      queue: jobs.queue,
      connection: jobs.connection,
      status: jobs.status,
      queuedAt: jobs.queuedAt,
    });
    this.#jobIds.push(...inserted.map((row) => row.id));
    return inserted;
  }

  /** Attempts of seeded jobs; without a `jobTimestamp`, of the newest job of their id (as the recorder does). */
  async attempts(
    rows: Array<Omit<AttemptInsert, 'jobTimestamp'> & { jobTimestamp?: number }>,
  ): Promise<void> {
    if (rows.length === 0) return;
    for (const row of rows) this.#attemptQueues.add(row.queue);
    await this.db.insert(jobAttempts).values(
      rows.map((row) => ({
        ...row,
        jobTimestamp:
          row.jobTimestamp ??
          sql<number>`(select max(job_timestamp) from watchtower_jobs
                       where connection = ${row.connection ?? 'default'} and queue = ${row.queue} and job_id = ${row.jobId})`,
      })),
    );
  }

  /** A live host (heartbeat now) unless told otherwise. */
  async host(row: Partial<HostInsert> & { hostId: string }): Promise<void> {
    this.#hostIds.push(row.hostId);
    await this.db.insert(hosts).values({ hostname: `${row.hostId}.test`, pid: 4242, ...row });
  }

  async workers(rows: WorkerInsert[]): Promise<void> {
    if (rows.length === 0) return;
    this.#workerIds.push(...rows.map((row) => row.workerId));
    await this.db.insert(workers).values(rows);
  }

  /** Rollup rows; `minutesAgo` places each one relative to the database's current minute. */
  async metrics(rows: Array<Omit<MetricInsert, 'minute'> & { minutesAgo: number }>): Promise<void> {
    if (rows.length === 0) return;
    for (const row of rows) this.#metricQueues.add(row.queue);
    // One statement: a cron running meanwhile (another test file's) rolls up all of them or none,
    // never an hour with half its minutes.
    await this.db.insert(metrics).values(
      rows.map(({ minutesAgo, ...row }) => ({
        ...row,
        minute: sql`date_trunc('minute', now()) - make_interval(mins => ${minutesAgo})`,
      })),
    );
  }

  /** Keeps seeded hosts and workers alive for the sweep of any real host running meanwhile. */
  async heartbeat(): Promise<void> {
    if (this.#hostIds.length > 0) {
      await this.db.execute(
        sql`update watchtower_hosts set last_heartbeat = now() where host_id in ${this.#hostIds} and status <> 'dead'`,
      );
    }
  }

  async cleanup(): Promise<void> {
    if (this.#jobIds.length > 0) await this.db.delete(jobs).where(inArray(jobs.id, this.#jobIds));
    if (this.#attemptQueues.size > 0) {
      await this.db.delete(jobAttempts).where(inArray(jobAttempts.queue, [...this.#attemptQueues]));
    }
    if (this.#workerIds.length > 0)
      await this.db.delete(workers).where(inArray(workers.workerId, this.#workerIds));
    if (this.#hostIds.length > 0) await this.db.delete(hosts).where(inArray(hosts.hostId, this.#hostIds));
    if (this.#metricQueues.size > 0) {
      await this.db.delete(metrics).where(inArray(metrics.queue, [...this.#metricQueues]));
      // The cron's rollup may have folded them into hours meanwhile.
      await this.db.delete(metricsHourly).where(inArray(metricsHourly.queue, [...this.#metricQueues]));
    }
  }
}

/** A job row with sensible defaults: completed, queued `secondsAgo` before now. */
export function job(
  queue: string,
  jobId: string,
  fields: Partial<JobInsert> & { secondsAgo?: number } = {},
): JobInsert {
  const { secondsAgo = 60, ...rest } = fields;
  const queuedAt = rest.queuedAt ?? new Date(Date.now() - secondsAgo * 1000);
  return {
    jobId,
    queue,
    name: 'test-job',
    payload: { jobId },
    dataSize: 20,
    status: 'completed',
    attempts: 1,
    // BullMQ's timestamp, as the recorder writes it: the job's queued_at to the millisecond.
    jobTimestamp: Math.floor(queuedAt.getTime()),
    ...rest,
    queuedAt,
  };
}

export interface Fleet {
  hostId: string;
  supervisor: string;
  queue: string;
  connection: string;
  running: string;
  paused: string;
  dead: string;
}

/**
 * A live host running one supervisor on one queue, with a running worker (busy with a job), a
 * paused one and a dead one; every name unique to the caller.
 */
export async function seedFleet(seed: Seed, prefix: string): Promise<Fleet> {
  const id = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const fleet: Fleet = {
    hostId: `host-${id}`,
    supervisor: `sup-${id}`,
    queue: `queue-${id}`,
    connection: `conn-${id}`,
    running: `w-run-${id}`,
    paused: `w-pause-${id}`,
    dead: `w-dead-${id}`,
  };
  await seed.host({
    hostId: fleet.hostId,
    connections: [fleet.connection],
    supervisors: [
      {
        name: fleet.supervisor,
        connection: fleet.connection,
        queues: [fleet.queue],
        status: 'running',
        balance: 'auto',
        minProcesses: 1,
        maxProcesses: 4,
        processes: { [fleet.queue]: 2 },
      },
    ],
  });
  const worker = (
    workerId: string,
    status: WorkerInsert['status'],
    extra: Partial<WorkerInsert> = {},
  ): WorkerInsert => ({
    workerId,
    hostId: fleet.hostId,
    supervisor: fleet.supervisor,
    connection: fleet.connection,
    queue: fleet.queue,
    pid: 1000,
    status,
    ...extra,
  });
  await seed.workers([
    worker(fleet.running, 'running', { currentJob: 'job-42', jobsProcessed: 7 }),
    worker(fleet.paused, 'paused'),
    worker(fleet.dead, 'dead'),
  ]);
  return fleet;
}

/** Plays the host: claims the first command for `target` as soon as it is on the bus. */
export async function claimCommand(
  bus: CommandBus,
  target: CommandTarget,
  options: { timeoutMs?: number; claimer?: string } = {},
): Promise<ClaimedCommand> {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  for (;;) {
    const [claimed] = await bus.claim({
      claimer: options.claimer ?? 'test-host',
      targets: [target],
      limit: 1,
    });
    if (claimed) return claimed;
    if (Date.now() > deadline)
      throw new Error(`no command for ${target.kind}:${target.id} within the timeout`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
