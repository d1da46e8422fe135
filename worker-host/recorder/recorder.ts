import type { SQL } from 'drizzle-orm';
import type { Database } from '../../core/db/database';
import { cleanRows } from './clean-rows';
import {
  insertDeadLetter,
  type Refusal,
  rowRefusal,
  UnwritableRows,
  writeSettingAside,
} from './dead-letters';
import { flushStatement, stalledStatement } from './flush-statement';
import { DEFAULT_PAYLOAD_CAP, describeError, type JobEvent, shortError } from './job-event';
import { eventOfTuple, isJobEventsMessage } from './job-events-message';
import { textCeilingFor } from './payload-cap';
import { RecordBatch, type RowBatch } from './record-batch';
import { Spool } from './spool';
import type { SpoolFs } from './spool-fs';

/**
 * The supervisor's recorder: takes job events from its worker processes (over IPC) and from the
 * queue watcher, and writes them to Postgres off the jobs' hot path.
 *
 * - Events fold into a bounded buffer (one row per job, one per attempt), flushed by size or at
 *   most every `flushIntervalMs`, one statement per flush for all three tables.
 * - A failed flush keeps its rows and is retried with backoff; rows past `maxBufferedRows` go to an
 *   append-only spool file, replayed once Postgres answers again. Only rows that neither Postgres
 *   nor the spool would take are dropped, and `stats().dropped` counts them.
 * - Every batch, live or replayed, is made storable first (clean-rows.ts). A batch Postgres still
 *   refuses for its rows' content is split until the refused rows stand alone; those are set aside
 *   in `watchtower_recorder_dead_letters` (dead-letters.ts, `stats().deadLettered`) and the rest is
 *   written: only a passing failure is retried.
 * - Writes are idempotent (see flush-statement.ts), so a retry, a replay or a sweep that finds a
 *   job already written never double-counts.
 */

export interface RecorderOptions {
  db: Database;
  hostId: string;
  /** Longest time an event waits in the buffer when Postgres is healthy. */
  flushIntervalMs?: number;
  /** Flush at once when this many job rows are buffered. */
  flushRows?: number;
  /** Rows per table per statement; a bigger buffer is written as several statements. */
  chunkRows?: number;
  /** Rows kept in memory (buffer plus unwritten chunks) before spilling to the spool. */
  maxBufferedRows?: number;
  /** Directory of the spool; default `$WATCHTOWER_SPOOL_DIR`, else `spool` in the state directory (spool-dir.ts). */
  spoolDir?: string;
  /** Another host whose spool record is untouched this long is taken to be gone: its files are replayed here. */
  spoolOrphanAfterMs?: number;
  /** The spool's file system calls; a test passes failing ones to make a full disk happen. */
  spoolFs?: SpoolFs;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How long `close()` keeps trying Postgres before spilling what is left. */
  closeTimeoutMs?: number;
  /** Told about every failed write; the recorder carries on regardless. */
  onError?: (error: unknown) => void;
  /**
   * The host's payload cap (payload-cap.ts): the recorder lets text through up to what a payload
   * cut at this cap can take (textCeilingFor), and cuts anything longer. Default 16 KB.
   */
  maxPayloadBytes?: number;
}

export interface RecorderStats {
  /** Events accepted. */
  events: number;
  /** Events or messages refused as malformed. */
  rejected: number;
  /** Rows waiting in memory (buffer and unwritten chunks). */
  buffered: number;
  /** Rows written to Postgres (jobs and attempts), including replayed ones. */
  written: number;
  jobRowsWritten: number;
  attemptRowsWritten: number;
  /** Flush statements that succeeded, and their average size in rows. */
  statements: number;
  rowsPerStatement: number;
  /** Failed write attempts (each is retried). */
  retries: number;
  /** Rows written to the spool, and rows replayed from it. */
  spilled: number;
  replayed: number;
  /** Rows this process spooled that are not replayed yet. */
  spoolPending: number;
  /** Rows lost: neither Postgres nor the spool (nor the dead-letter table) would take them. */
  dropped: number;
  /** Rows Postgres refused for their content, set aside in watchtower_recorder_dead_letters. */
  deadLettered: number;
  /**
   * Rows this recorder had to clean itself (clean-rows.ts). Worker processes send their events
   * clean, so this stays 0 unless something sends raw text (or an older spool file holds it).
   */
  sanitized: number;
  /** Spills the spool refused (a full disk, a read-only one): their rows are counted in `dropped`. */
  spoolErrors: number;
  /** Why the last spill failed (`ENOSPC: ...`), and when. */
  lastSpoolError: string | undefined;
  lastSpoolErrorAt: number | undefined;
  /** Spool lines that could not be read back (a write cut short by a crash), set aside in `corrupt/`. */
  corruptSpoolLines: number;
  lastError: string | undefined;
  lastWriteAt: number | undefined;
}

/** A job's finish that a flush statement has just written to Postgres. */
export interface WrittenFinish {
  connection: string;
  queue: string;
  jobId: string;
  /** BullMQ's `finishedOn` as the worker process reported it (the finished set's score). */
  finishedAt: number;
}

export interface Recorder {
  /**
   * Calls `listener` with the finishes (completed, or failed for good) of every batch Postgres took,
   * live or replayed; the queue watcher's sweep need not ask Postgres about those again. Returns a
   * function that stops the calls.
   */
  onWritten(listener: (finishes: readonly WrittenFinish[]) => void): () => void;
  /** Takes a job-events message as received over IPC (job-events-message.ts); ignores other messages. */
  accept(message: unknown): boolean;
  record(events: JobEvent[]): void;
  /** Writes everything buffered now; rejects if Postgres refused (the rows stay buffered). */
  flush(): Promise<void>;
  stats(): RecorderStats;
  /** Final flush: keeps trying until `closeTimeoutMs`, then spills what is left to the spool. */
  close(): Promise<void>;
}

const REPLAY_LINES_PER_CYCLE = 4;
/** How long `close()` keeps trying Postgres by default: a stop budget (systemd, Kubernetes) allows for it. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export function createRecorder(options: RecorderOptions): Recorder {
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const flushRows = options.flushRows ?? 4_000;
  const chunkRows = options.chunkRows ?? 5_000;
  const maxBufferedRows = options.maxBufferedRows ?? 100_000;
  const retryInitialMs = options.retryInitialMs ?? 200;
  const retryMaxMs = options.retryMaxMs ?? 5_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const { db } = options;
  const textCeiling = textCeilingFor(options.maxPayloadBytes ?? DEFAULT_PAYLOAD_CAP);
  const spool = new Spool({
    dir: options.spoolDir,
    hostId: options.hostId,
    orphanAfterMs: options.spoolOrphanAfterMs,
    fs: options.spoolFs,
    onError: (error) => options.onError?.(error),
  });

  const buffer = new RecordBatch();
  /** Chunks taken from the buffer and not yet written, oldest first. */
  let pending: RowBatch[] = [];
  let pendingRows = 0;
  let cycle: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = 0;
  let failures = 0;
  let replayedLastCycle = 0;
  let closed = false;
  let spills: Promise<void> = Promise.resolve();

  const stats = {
    events: 0,
    rejected: 0,
    jobRowsWritten: 0,
    attemptRowsWritten: 0,
    statements: 0,
    retries: 0,
    spilled: 0,
    dropped: 0,
    spoolErrors: 0,
    lastSpoolError: undefined as string | undefined,
    lastSpoolErrorAt: undefined as number | undefined,
    deadLettered: 0,
    sanitized: 0,
    lastError: undefined as string | undefined,
    lastWriteAt: undefined as number | undefined,
  };

  /**
   * Writes a batch, live or replayed from the spool: cleaned, then written, with the rows Postgres
   * refuses for their content set aside (dead-letters.ts). Throws only on a passing failure, which
   * leaves the batch to be retried or spooled whole.
   */
  async function write(batch: RowBatch): Promise<void> {
    // A spool line is input too: it may lack a list.
    if (!Array.isArray(batch.jobs)) batch.jobs = [];
    if (!Array.isArray(batch.attempts)) batch.attempts = [];
    stats.sanitized += cleanRows(batch, textCeiling);
    await writeSettingAside(batch, writeStatements, setAside);
  }

  async function setAside(row: RowBatch, refusal: Refusal): Promise<void> {
    const code = refusal.sqlstate ?? 'unwritable';
    try {
      if (await insertDeadLetter(db, options.hostId, row, refusal)) stats.deadLettered++;
      stats.lastError = `row set aside (${code}): ${refusal.message}`;
    } catch (error) {
      // Postgres went away meanwhile: the batch is retried whole (the insert is idempotent).
      if (!rowRefusal(error)) throw error;
      stats.dropped++;
      stats.lastError = `row dropped (${code}), the dead-letter table refused it too: ${describeError(error)}`;
    }
    options.onError?.(new Error(stats.lastError));
  }

  /** One batch as one flush statement, plus its stall fix. */
  async function writeStatements(batch: RowBatch): Promise<void> {
    let flush: SQL;
    let stalled: SQL | undefined;
    try {
      flush = flushStatement(batch);
      stalled = stalledStatement(batch);
    } catch (error) {
      throw new UnwritableRows(error);
    }
    await db.execute(flush);
    if (stalled) await db.execute(stalled);
    stats.statements++;
    stats.jobRowsWritten += batch.jobs.length;
    stats.attemptRowsWritten += batch.attempts.length;
    stats.lastWriteAt = Date.now();
    if (writtenListeners.size > 0) tellWritten(batch);
  }

  const writtenListeners = new Set<(finishes: readonly WrittenFinish[]) => void>();

  function tellWritten(batch: RowBatch): void {
    // The written rows themselves, read-only to the listeners (which keep none of them): not an
    // object made for every job only to be read once, at thousands of jobs a second.
    const finishes: WrittenFinish[] = [];
    for (const row of batch.jobs) {
      if ((row.status === 'completed' || row.status === 'failed') && row.finishedAt !== undefined) {
        finishes.push(row as WrittenFinish);
      }
    }
    if (finishes.length === 0) return;
    for (const listener of writtenListeners) {
      try {
        listener(finishes);
      } catch (error) {
        // A listener's fault is not the write's: the rows are in Postgres.
        options.onError?.(error);
      }
    }
  }

  function rowsOf(batches: RowBatch[]): number {
    let n = 0;
    for (const b of batches) n += b.jobs.length + b.attempts.length;
    return n;
  }

  /** Moves rows out of memory to the spool; counts them as dropped if the spool refuses. */
  function spill(batches: RowBatch[]): Promise<void> {
    const rows = rowsOf(batches);
    if (rows === 0) return spills;
    // Spills are chained so files are written one at a time and `close()` can wait for them.
    spills = spills.then(() =>
      spool.append(batches).then(
        () => {
          stats.spilled += rows;
          // Replayed as soon as Postgres answers; while it does not, the retry timer runs already.
          if (!closed && failures === 0) scheduleNext(flushIntervalMs);
        },
        (error: unknown) => {
          // Not a crash, and not silent: counted, kept in the stats, and told (the same words for
          // the same fault, so that the host's log says it once a minute, not once a spill).
          const code = (error as NodeJS.ErrnoException).code;
          stats.dropped += rows;
          stats.spoolErrors++;
          stats.lastSpoolError = describeError(error);
          stats.lastSpoolErrorAt = Date.now();
          stats.lastError = `spool: ${stats.lastSpoolError}`;
          options.onError?.(
            new Error(
              `spool ${spool.dir}: cannot write (${code ?? describeError(error)}); rows that neither Postgres nor the spool takes are dropped and counted`,
              { cause: error },
            ),
          );
        },
      ),
    );
    return spills;
  }

  /** Keeps memory bounded: past the bound, everything but the chunk being retried is spilled. */
  function enforceBound(): void {
    if (buffer.size + pendingRows <= maxBufferedRows) return;
    const keep = pending.slice(0, 1);
    const out = [...pending.slice(1), ...buffer.take(chunkRows)];
    pending = keep;
    pendingRows = rowsOf(keep);
    void spill(out);
  }

  async function runCycle(): Promise<void> {
    if (buffer.size > 0) {
      const chunks = buffer.take(chunkRows);
      pending.push(...chunks);
      pendingRows += rowsOf(chunks);
    }
    while (pending.length > 0) {
      const chunk = pending[0] as RowBatch;
      await write(chunk);
      pending.shift();
      pendingRows -= chunk.jobs.length + chunk.attempts.length;
    }
    failures = 0;
    replayedLastCycle = 0;
    if (spool.hasWork) {
      replayedLastCycle = await spool.replay(write, REPLAY_LINES_PER_CYCLE);
    }
  }

  function startCycle(): Promise<void> {
    if (cycle) return cycle;
    clearTimer();
    const current = runCycle().then(
      () => {
        cycle = undefined;
        if (closed) return;
        // A spool being replayed goes on at once, a few chunks per cycle between live flushes.
        if (buffer.jobCount >= flushRows || replayedLastCycle > 0) scheduleNext(0);
        else if (buffer.size > 0) scheduleNext(flushIntervalMs);
        // Idle, the spool is still looked at now and then: files a host left when it died, and
        // files of this one that another host replayed (which then no longer count as pending).
        else scheduleNext(Math.max(flushIntervalMs, spool.nextScanInMs()));
      },
      (error: unknown) => {
        cycle = undefined;
        failures++;
        stats.retries++;
        stats.lastError = describeError(error);
        options.onError?.(shortError(error));
        enforceBound();
        if (!closed) scheduleNext(backoff());
        throw error;
      },
    );
    cycle = current;
    return current;
  }

  function backoff(): number {
    const base = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(failures - 1, 16));
    return base / 2 + Math.random() * (base / 2);
  }

  function clearTimer(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
  }

  function scheduleNext(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (timer && timerAt <= at) return;
    clearTimer();
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      startCycle().catch(() => undefined);
    }, delayMs);
    // The recorder never keeps a process alive on its own; close() does the final flush.
    timer.unref();
  }

  function record(events: JobEvent[]): void {
    const now = Date.now();
    stats.events += events.length;
    if (closed) {
      // Too late for Postgres in this process: straight to the spool, for the next start.
      const late = new RecordBatch();
      for (const event of events) late.add(event, now);
      void spill(late.take(chunkRows));
      return;
    }
    for (const event of events) buffer.add(event, now);
    if (failures > 0) {
      enforceBound();
      return; // the retry timer is running; no point knocking sooner
    }
    if (buffer.jobCount >= flushRows) {
      if (!cycle) scheduleNext(0);
    } else if (!cycle && !closed) {
      // Sooner than an idle spool scan that may be due (scheduleNext keeps the earlier time).
      scheduleNext(flushIntervalMs);
    }
    if (buffer.size + pendingRows > maxBufferedRows) enforceBound();
  }

  // A first cycle soon after start replays whatever a previous run left in the spool.
  scheduleNext(flushIntervalMs);

  return {
    onWritten(listener) {
      writtenListeners.add(listener);
      return () => writtenListeners.delete(listener);
    },

    accept(message: unknown): boolean {
      if (!isJobEventsMessage(message)) return false;
      // Worker processes leave their host out: it is this one.
      const shared = {
        connection: message.connection,
        queue: message.queue,
        workerId: message.workerId,
        hostId: options.hostId,
      };
      const events: JobEvent[] = [];
      for (const tuple of message.events) {
        const event = eventOfTuple(tuple, shared);
        if (event) events.push(event);
        else stats.rejected++;
      }
      if (events.length > 0) record(events);
      return true;
    },

    record,

    async flush(): Promise<void> {
      if (cycle) await cycle.catch(() => undefined);
      await startCycle();
      await spills;
    },

    stats(): RecorderStats {
      const written = stats.jobRowsWritten + stats.attemptRowsWritten;
      return {
        ...stats,
        buffered: buffer.size + pendingRows,
        written,
        rowsPerStatement: stats.statements === 0 ? 0 : Math.round(written / stats.statements),
        replayed: spool.replayedRows,
        spoolPending: spool.pendingRows,
        corruptSpoolLines: spool.corruptLines,
      };
    },

    async close(): Promise<void> {
      closed = true;
      clearTimer();
      const deadline = Date.now() + closeTimeoutMs;
      for (;;) {
        try {
          if (cycle) await cycle.catch(() => undefined);
          await startCycle();
          if (buffer.size === 0 && pending.length === 0) break;
        } catch {
          if (Date.now() + backoff() >= deadline) break;
          await new Promise((resolve) => setTimeout(resolve, backoff()));
        }
      }
      clearTimer();
      // Whatever Postgres would not take in time goes to the spool for the next start to replay.
      const left = [...pending, ...buffer.take(chunkRows)];
      pending = [];
      pendingRows = 0;
      await spill(left);
      await spills;
      await spool.close();
    },
  };
}
