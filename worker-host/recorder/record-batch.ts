import type { JobEvent } from './job-event';

/**
 * The recorder's buffer: events folded into at most one row per job and one row per attempt, so a
 * job that was queued, started and finished within one flush window costs one row in each table.
 *
 * Events are ordered by rank, `attempt * 4 + stage`: a later run beats an earlier one, and within a
 * run a finish beats a start. The same rule guards the upserts in Postgres, so the order in which
 * events arrive (IPC batches, the sweep, a replayed spool file) never matters.
 *
 * A job is its id *and* BullMQ's timestamp (`queuedAt`): BullMQ gives an id to a new job once the
 * job that had it is gone (a producer's custom `jobId` after removeOnComplete, or a flushed Redis),
 * and the two are different jobs, each with its own row and attempts, here as in Postgres. An event
 * without a timestamp (a malformed one, or a finish read from the event stream alone of a job
 * Postgres has no row for) belongs to the newest job of its id: the flush looks that one up in
 * Postgres when the buffer has none.
 */

export type JobStatus = 'queued' | 'delayed' | 'processing' | 'retrying' | 'completed' | 'failed';
export type AttemptStatus = 'processing' | 'completed' | 'failed';

export interface JobRow {
  connection: string;
  queue: string;
  jobId: string;
  status: JobStatus;
  attempt: number;
  name?: string;
  payload?: string;
  payloadTruncated?: boolean;
  /** Some of the job's text was cleaned to be storable (storable.ts); kept once set. */
  sanitized?: boolean;
  dataSize?: number;
  maxAttempts?: number;
  workerId?: string;
  exception?: string;
  result?: string;
  queuedAt?: number;
  dueAt?: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface AttemptRow {
  connection: string;
  queue: string;
  jobId: string;
  /** The job's BullMQ timestamp (its row's `queuedAt`), set by `take`; undefined when unknown. */
  jobTimestamp?: number;
  attempt: number;
  status: AttemptStatus;
  workerId?: string;
  hostId?: string;
  startedAt: number;
  finishedAt?: number;
  errorMessage?: string;
  errorStack?: string;
  willRetry?: boolean;
  /** BullMQ's count of the job's stalled runs, as of this run (see JobEvent.stalledRuns). */
  stalledRuns?: number;
}

/** Rows ready for one flush (or one spool line). */
export interface RowBatch {
  jobs: JobRow[];
  attempts: AttemptRow[];
}

const JOB_STAGE: Record<JobStatus, number> = {
  queued: 0,
  delayed: 0,
  processing: 1,
  retrying: 2,
  completed: 3,
  failed: 3,
};

export function jobRank(row: Pick<JobRow, 'attempt' | 'status'>): number {
  return row.attempt * 4 + JOB_STAGE[row.status];
}

function attemptStage(status: AttemptStatus): number {
  return status === 'processing' ? 1 : 3;
}

export function jobStatusOf(event: JobEvent): JobStatus {
  switch (event.kind) {
    case 'queued':
      return 'queued';
    case 'delayed':
      return 'delayed';
    case 'active':
      return 'processing';
    case 'completed':
      return 'completed';
    case 'failed':
      return event.willRetry ? 'retrying' : 'failed';
  }
}

function jobRowOf(event: JobEvent): JobRow {
  const row: JobRow = {
    connection: event.connection,
    queue: event.queue,
    jobId: event.jobId,
    status: jobStatusOf(event),
    attempt: event.kind === 'queued' || event.kind === 'delayed' ? 0 : event.attempt,
  };
  if (event.name !== undefined) row.name = event.name;
  if (event.payload !== undefined) {
    row.payload = event.payload;
    row.payloadTruncated = event.payloadTruncated === true;
    row.dataSize = event.dataSize ?? event.payload.length;
  }
  if (event.sanitized) row.sanitized = true;
  if (event.maxAttempts !== undefined) row.maxAttempts = event.maxAttempts;
  if (event.workerId !== undefined) row.workerId = event.workerId;
  if (event.kind === 'failed' && event.error !== undefined) row.exception = event.error;
  if (event.kind === 'completed' && event.result !== undefined) row.result = event.result;
  if (event.queuedAt !== undefined) row.queuedAt = event.queuedAt;
  if (event.dueAt !== undefined) row.dueAt = event.dueAt;
  if (event.kind !== 'queued' && event.kind !== 'delayed') {
    if (event.startedAt !== undefined) row.startedAt = event.startedAt;
    if (event.kind !== 'active' && event.finishedAt !== undefined) row.finishedAt = event.finishedAt;
  }
  return row;
}

function attemptRowOf(event: JobEvent, now: number): AttemptRow | undefined {
  if (event.kind === 'queued' || event.kind === 'delayed' || event.attempt < 1) return undefined;
  const row: AttemptRow = {
    connection: event.connection,
    queue: event.queue,
    jobId: event.jobId,
    attempt: event.attempt,
    status: event.kind === 'active' ? 'processing' : event.kind,
    // An attempt row needs a start; an event without one is dated by its finish, or by now.
    startedAt: event.startedAt ?? event.finishedAt ?? now,
  };
  if (event.workerId !== undefined) row.workerId = event.workerId;
  if (event.hostId !== undefined) row.hostId = event.hostId;
  if (event.stalledRuns !== undefined && event.attempt > 1) row.stalledRuns = event.stalledRuns;
  if (event.kind !== 'active' && event.finishedAt !== undefined) row.finishedAt = event.finishedAt;
  if (event.kind === 'failed') {
    if (event.error !== undefined) row.errorMessage = event.error;
    if (event.stack !== undefined) row.errorStack = event.stack;
    if (event.willRetry) row.willRetry = true;
  }
  return row;
}

/** Keeps the higher-ranked row and fills what it lacks from the other. */
export function mergeJobRows(current: JobRow, incoming: JobRow): JobRow {
  const incomingWins = jobRank(incoming) > jobRank(current);
  const high = incomingWins ? incoming : current;
  const low = incomingWins ? current : incoming;
  if (high.name === undefined && low.name !== undefined) high.name = low.name;
  if (high.payload === undefined && low.payload !== undefined) {
    high.payload = low.payload;
    high.payloadTruncated = low.payloadTruncated;
    high.dataSize = low.dataSize;
  }
  if (high.maxAttempts === undefined && low.maxAttempts !== undefined) high.maxAttempts = low.maxAttempts;
  if (low.sanitized) high.sanitized = true;
  if (low.queuedAt !== undefined && (high.queuedAt === undefined || low.queuedAt < high.queuedAt)) {
    high.queuedAt = low.queuedAt;
  }
  if (high.dueAt === undefined && low.dueAt !== undefined) high.dueAt = low.dueAt;
  if (high.attempt === low.attempt) {
    if (high.startedAt === undefined && low.startedAt !== undefined) high.startedAt = low.startedAt;
    if (high.workerId === undefined && low.workerId !== undefined) high.workerId = low.workerId;
  }
  return high;
}

export function mergeAttemptRows(current: AttemptRow, incoming: AttemptRow): AttemptRow {
  const incomingWins = attemptStage(incoming.status) > attemptStage(current.status);
  const high = incomingWins ? incoming : current;
  const low = incomingWins ? current : incoming;
  if (high.workerId === undefined && low.workerId !== undefined) high.workerId = low.workerId;
  if (high.hostId === undefined && low.hostId !== undefined) high.hostId = low.hostId;
  if (low.startedAt < high.startedAt) high.startedAt = low.startedAt;
  if (low.stalledRuns !== undefined && (high.stalledRuns ?? 0) < low.stalledRuns) {
    high.stalledRuns = low.stalledRuns;
  }
  return high;
}

/** A job's rows in the buffer: its job row, and the attempt rows it needs (see `add`). */
interface Entry {
  job: JobRow;
  /** The host that ran the job row's attempt, for an attempt row made from it later. */
  hostId?: string;
  attempts?: Map<number, AttemptRow>;
  /** Another job under the same id (a reused id): rare, so a chain rather than another map. */
  other?: Entry;
}

export class RecordBatch {
  /** Entries by connection, queue and job id: no key is built per event. */
  private connections = new Map<string, Map<string, Map<string, Entry>>>();
  private jobRows = 0;
  private attemptRows = 0;
  /** Events folded in since the last `take`, to report how much coalescing saved. */
  events = 0;

  /** Rows held: what the buffer bound counts. */
  get size(): number {
    return this.jobRows + this.attemptRows;
  }

  get jobCount(): number {
    return this.jobRows;
  }

  /**
   * Folds one event in. A first run that completed needs no attempt row, the job row being its
   * record (flush-statement.ts): none is made unless the run was reported running in this same
   * buffer (then the job row completes it, and `take` leaves it out), or a later run of the job
   * takes the job row over before the flush (then the first run becomes an attempt row here).
   */
  add(event: JobEvent, now: number): void {
    this.events++;
    const jobs = this.jobsOf(event.connection, event.queue);
    const row = jobRowOf(event);
    const first = jobs.get(event.jobId);
    let entry = first && entryOf(first, event.queuedAt);
    if (!entry) {
      entry = { job: row };
      if (!first) jobs.set(event.jobId, entry);
      else {
        // A new job under an id the buffer holds already: its own entry, at the end of the chain.
        let last = first;
        while (last.other) last = last.other;
        last.other = entry;
      }
      this.jobRows++;
    } else {
      const current = entry.job;
      entry.job = mergeJobRows(current, row);
      if (entry.job !== current && isCleanFirstRun(current) && !entry.attempts?.has(1)) {
        this.addAttempt(entry, firstRunOf(current, entry.hostId));
      }
    }
    if (entry.job === row && event.hostId !== undefined) entry.hostId = event.hostId;
    const keptInJobRow =
      event.kind === 'completed' &&
      event.attempt === 1 &&
      isCleanFirstRun(entry.job) &&
      !entry.attempts?.has(1);
    if (keptInJobRow) return;
    const attempt = attemptRowOf(event, now);
    if (attempt) this.addAttempt(entry, attempt);
  }

  private jobsOf(connection: string, queue: string): Map<string, Entry> {
    let queues = this.connections.get(connection);
    if (!queues) {
      queues = new Map();
      this.connections.set(connection, queues);
    }
    let jobs = queues.get(queue);
    if (!jobs) {
      jobs = new Map();
      queues.set(queue, jobs);
    }
    return jobs;
  }

  private addAttempt(entry: Entry, row: AttemptRow): void {
    entry.attempts ??= new Map();
    const current = entry.attempts.get(row.attempt);
    if (current) {
      entry.attempts.set(row.attempt, mergeAttemptRows(current, row));
    } else {
      entry.attempts.set(row.attempt, row);
      this.attemptRows++;
    }
  }

  /**
   * Empties the buffer into chunks of at most `chunkRows` rows per table. A first run that
   * completed, with its job row completed by it in the same buffer, is left out of the attempts:
   * the job row is its record (flush-statement.ts), and carries what completes an attempt row
   * written while it ran. Most jobs are such, so most statements carry no attempt at all.
   */
  take(chunkRows: number): RowBatch[] {
    const jobs: JobRow[] = [];
    const attempts: AttemptRow[] = [];
    for (const queues of this.connections.values()) {
      for (const entries of queues.values()) {
        for (const first of entries.values()) {
          for (let entry: Entry | undefined = first; entry; entry = entry.other) {
            const { job, attempts: runs } = entry;
            jobs.push(job);
            if (!runs) continue;
            const clean = isCleanFirstRun(job);
            for (const [attempt, row] of runs) {
              // The entry is one job: its timestamp, known now if only a later event said it.
              row.jobTimestamp = job.queuedAt;
              if (!(clean && attempt === 1 && row.status === 'completed')) attempts.push(row);
            }
          }
        }
      }
    }
    this.connections = new Map();
    this.jobRows = 0;
    this.attemptRows = 0;
    this.events = 0;
    const chunks: RowBatch[] = [];
    for (let i = 0; i < Math.max(jobs.length, attempts.length); i += chunkRows) {
      chunks.push({ jobs: jobs.slice(i, i + chunkRows), attempts: attempts.slice(i, i + chunkRows) });
    }
    return chunks;
  }
}

/**
 * The entry of the job an event with timestamp `queuedAt` belongs to, among the entries of one job
 * id (`first` and its chain): the one with that timestamp, or an undated one (which takes it on),
 * or for an undated event the newest. Undefined when the event is of a job not in the buffer.
 */
function entryOf(first: Entry, queuedAt: number | undefined): Entry | undefined {
  // The common case, one job per id and every event dated: one comparison.
  if (first.job.queuedAt === queuedAt && first.other === undefined) return first;
  let newest: Entry | undefined;
  let undated: Entry | undefined;
  for (let entry: Entry | undefined = first; entry; entry = entry.other) {
    const at = entry.job.queuedAt;
    if (at === undefined) undated ??= entry;
    else if (at === queuedAt) return entry;
    else if (newest === undefined || at > (newest.job.queuedAt as number)) newest = entry;
  }
  if (queuedAt === undefined) return newest ?? undated;
  return undated;
}

/** A job row that is the whole record of a first run that completed. */
function isCleanFirstRun(row: JobRow): boolean {
  return row.status === 'completed' && row.attempt === 1;
}

/** The attempt row of a first run kept in a job row, for when that row is taken over. */
function firstRunOf(row: JobRow, hostId: string | undefined): AttemptRow {
  const attempt: AttemptRow = {
    connection: row.connection,
    queue: row.queue,
    jobId: row.jobId,
    attempt: 1,
    status: 'completed',
    startedAt: row.startedAt ?? row.finishedAt ?? Date.now(),
  };
  if (row.finishedAt !== undefined) attempt.finishedAt = row.finishedAt;
  if (row.workerId !== undefined) attempt.workerId = row.workerId;
  if (hostId !== undefined) attempt.hostId = hostId;
  return attempt;
}
