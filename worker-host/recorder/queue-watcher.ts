import { type Job, Queue } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { Database } from '../../core/db/database';
import { metrics } from '../../drizzle/schema/metrics';
import { recorderCursors } from '../../drizzle/schema/recorder';
import { eventStream } from './event-stream';
import { DEFAULT_PAYLOAD_CAP, describeError, type JobEvent, shortError } from './job-event';
import { type SweepReport, sweepFindings } from './queue-sweep';
import type { Recorder } from './recorder';
import { fetchJobs, jobEventOf, unstartedIds } from './watched-job';
import { forgetWrittenBefore, noteWritten, ranSince, type Watched } from './watched-queue';

export type { SweepReport } from './queue-sweep';

/**
 * What happens to a queue outside the worker processes this host runs: jobs added by any producer
 * (`queued`, `delayed`), and finishes whose events never reached the recorder (a worker process
 * killed within its send window, a worker run by something else than Watchtower).
 *
 * - BullMQ's event stream for the queue (the one `QueueEvents` reads) is read from a cursor saved
 *   in `watchtower_recorder_cursors`; added jobs are read back from Redis in batches and recorded.
 *   It is read here rather than through `QueueEvents`, which parses and emits every event as it
 *   comes: under a burst that is two or three events per job, and measured as the dearest part of
 *   the whole recorder. Read at most every `streamIntervalMs`, `streamCount` events at a time, the
 *   cost is bounded whatever the load; what Redis trims in between is the sweep's to find. An idle
 *   stream is read blocking (XREAD BLOCK, on a connection of its own), so a quiet host makes one
 *   read per `streamBlockMs` and still sees a new job at once.
 * - A periodic sweep reads the completed and failed sets by finish time since the last sweep (up
 *   to `settleMs` ago, so events still in flight are not fetched twice), asks Postgres which of
 *   those jobs it lacks, and records those from Redis. Jobs the stream reported finished but Redis
 *   already removed (`removeOnComplete`) are recorded from the stream event alone. The newest
 *   waiting and delayed jobs are checked the same way, for adds the stream dropped. A job id that
 *   a new job reuses is told apart by the job's timestamp and finish time (recorded-jobs.ts).
 *
 * One host watches a queue at a time (a lease on the cursor row); the others stand by, and take
 * over when the lease lapses, is handed back, or its holder is marked dead.
 */

export interface WatchQueuesOptions {
  db: Database;
  /** The connection's name in Watchtower (the `connection` column). */
  connection: string;
  /** `redis://` or `rediss://` URL of the queues' Redis. */
  url: string;
  queues: string[];
  recorder: Recorder;
  hostId: string;
  /** BullMQ key prefix; default `bull`. */
  prefix?: string;
  sweepIntervalMs?: number;
  /** Finishes younger than this are left to the worker processes' own events. */
  settleMs?: number;
  /** Each sweep re-checks this far before the previous one (clocks of different hosts differ). */
  overlapMs?: number;
  /** How far back the first sweep of a queue looks. */
  initialLookbackMs?: number;
  /** Ids per Redis read and per Postgres check. */
  pageSize?: number;
  /** How many of the newest waiting and delayed jobs each sweep checks. */
  waitingScan?: number;
  leaseMs?: number;
  /**
   * While the recorder replays its spool the sweeps wait (Postgres looks emptier than it is), but
   * no longer than this: a spool that never drains must not stop the sweeps for good.
   */
  spoolWaitMs?: number;
  /** The shortest time between two reads of the event stream that found events (a busy queue). */
  streamIntervalMs?: number;
  /**
   * How long one read of an idle stream waits for an event (XREAD BLOCK): an idle host makes one
   * read per this period instead of one per `streamIntervalMs`, and a new event wakes it at once.
   */
  streamBlockMs?: number;
  /** Most events read per queue per read. */
  streamCount?: number;
  /**
   * The share of Redis's time the reads of a busy stream may take while every finish they find was
   * already written by this host's recorder (its own worker processes'): such reads are paced to it,
   * never further apart than `streamBlockMs`. Default 0.01. Reads that find other workers' finishes
   * keep `streamIntervalMs`.
   */
  streamOwnReadShare?: number;
  payloadCap?: number;
  onError?: (error: unknown) => void;
}

export interface QueueWatcherStats {
  /** Queues this host holds the lease for. */
  watching: string[];
  added: number;
  sweeps: number;
  /** Jobs the sweeps found missing in Postgres and recorded. */
  recovered: number;
  /** Finished jobs recorded from a stream event alone (Redis had already removed them). */
  recoveredFromStream: number;
  /** Reads of the event stream (XREAD, or filtered in Redis). */
  streamReads: number;
  /** Of those, reads of a busy stream filtered in Redis. */
  filteredReads: number;
  /** Filtered reads that found only this host's own finishes and were paced (`streamOwnReadShare`). */
  pacedReads: number;
  /**
   * Adds whose job was read back whole from Redis: those not known to have run, nor started by
   * the time the add was read. The others cost no read and no `queued` row.
   */
  addsReadBack: number;
  /** Finished jobs the sweeps did not ask Postgres about: this host's recorder had written them. */
  knownWritten: number;
  errors: number;
  lastError: string | undefined;
}

export interface QueueWatcher {
  /** Runs one sweep of every watched queue now. */
  sweep(): Promise<SweepReport[]>;
  stats(): QueueWatcherStats;
  close(): Promise<void>;
}

export function watchQueues(options: WatchQueuesOptions): QueueWatcher {
  if (!/^rediss?:\/\//.test(options.url)) return unsupported(options);
  const sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
  const settleMs = options.settleMs ?? 5_000;
  const overlapMs = options.overlapMs ?? 5_000;
  const initialLookbackMs = options.initialLookbackMs ?? 60 * 60_000;
  const pageSize = options.pageSize ?? 2_000;
  const waitingScan = options.waitingScan ?? 1_000;
  const leaseMs = options.leaseMs ?? Math.max(30_000, sweepIntervalMs * 3);
  const spoolWaitMs = options.spoolWaitMs ?? Math.max(60_000, sweepIntervalMs * 6);
  const streamIntervalMs = options.streamIntervalMs ?? 500;
  const streamBlockMs = options.streamBlockMs ?? 5_000;
  const streamCount = options.streamCount ?? 5_000;
  const streamOwnReadShare = options.streamOwnReadShare ?? 0.01;
  const payloadCap = options.payloadCap ?? DEFAULT_PAYLOAD_CAP;
  const prefix = options.prefix ?? 'bull';
  const { db, connection, recorder, hostId } = options;
  const owner = hostId;

  // The event stream and the finished sets by score: reads BullMQ's client abstraction does not offer.
  const redis = new Redis(options.url, { maxRetriesPerRequest: 3, lazyConnect: false });
  redis.on('error', () => undefined);
  // A blocking read holds its connection: the stream gets one of its own.
  const streamRedis = redis.duplicate();
  streamRedis.on('error', () => undefined);

  const counters = {
    added: 0,
    sweeps: 0,
    recovered: 0,
    recoveredFromStream: 0,
    streamReads: 0,
    filteredReads: 0,
    pacedReads: 0,
    addsReadBack: 0,
    knownWritten: 0,
    errors: 0,
    lastError: undefined as string | undefined,
  };

  const watched: Watched[] = options.queues.map((name) => {
    const queue = new Queue(name, { connection: { url: options.url }, prefix });
    queue.on('error', () => undefined);
    return {
      name,
      queue,
      eventsKey: queue.toKey('events'),
      leased: false,
      lastSeenId: undefined,
      recordedThroughId: undefined,
      savedId: undefined,
      sweptUntil: undefined,
      added: new Map(),
      addedChain: Promise.resolve(),
      finished: new Map(),
      written: new Map(),
    };
  });
  const byName = new Map(watched.map((w) => [w.name, w]));
  const stopHearingWritten = recorder.onWritten((finishes) => {
    for (const finish of finishes) {
      if (finish.connection !== connection) continue;
      const w = byName.get(finish.queue);
      if (w?.leased) noteWritten(w, finish.jobId, finish.finishedAt);
    }
  });

  let closed = false;
  let sweeping: Promise<SweepReport[]> | undefined;
  /** Since when the sweeps have waited for the recorder's spool. */
  let spoolWaitSince: number | undefined;

  function report(error: unknown): void {
    counters.errors++;
    counters.lastError = describeError(error);
    options.onError?.(shortError(error));
  }

  // ---- lease and cursor -------------------------------------------------------------------

  /** Takes or renews the lease; on taking it, loads the saved cursor. */
  async function lease(w: Watched): Promise<boolean> {
    const until = sql`now() + ${`${leaseMs} milliseconds`}::interval`;
    const rows = await db
      .insert(recorderCursors)
      .values({ connection, queue: w.name, owner, leaseUntil: until, updatedAt: sql`now()` })
      .onConflictDoUpdate({
        target: [recorderCursors.connection, recorderCursors.queue],
        set: { owner, leaseUntil: until, updatedAt: sql`now()` },
        // A holder the heartbeats found dead loses its lease at once: the dead host's last jobs
        // (finished but never written) are the sweep's to find, so waiting for the lease to
        // lapse would only keep them missing longer.
        setWhere: sql`${recorderCursors.owner} is null or ${recorderCursors.owner} = ${owner}
          or ${recorderCursors.leaseUntil} < now()
          or exists (select 1 from watchtower_hosts h
                     where h.host_id = ${recorderCursors.owner} and h.status = 'dead')`,
      })
      .returning({ lastEventId: recorderCursors.lastEventId, sweptUntil: recorderCursors.sweptUntil });
    const row = rows[0];
    if (!row) {
      w.leased = false;
      return false;
    }
    if (!w.leased) {
      w.savedId = row.lastEventId ?? undefined;
      w.sweptUntil = row.sweptUntil?.getTime();
      // Without a saved cursor, only new events: what came before is the sweep's to find.
      w.lastSeenId = w.savedId ?? (await streamEnd(w));
      w.recordedThroughId = w.lastSeenId;
      w.leased = true;
    }
    return true;
  }

  async function saveCursor(w: Watched, sweptUntil: number | undefined): Promise<void> {
    const set: Partial<typeof recorderCursors.$inferInsert> = { updatedAt: new Date() };
    if (w.recordedThroughId && w.recordedThroughId !== w.savedId) set.lastEventId = w.recordedThroughId;
    if (sweptUntil !== undefined) set.sweptUntil = new Date(sweptUntil);
    await db
      .update(recorderCursors)
      .set(set)
      .where(
        and(
          eq(recorderCursors.connection, connection),
          eq(recorderCursors.queue, w.name),
          eq(recorderCursors.owner, owner),
        ),
      );
    w.savedId = w.recordedThroughId;
    if (sweptUntil !== undefined) w.sweptUntil = sweptUntil;
  }

  // ---- the event stream -------------------------------------------------------------------

  async function streamEnd(w: Watched): Promise<string> {
    const last = await redis.xrevrange(w.eventsKey, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  }

  const stream = eventStream({
    redis,
    streamRedis,
    streamCount,
    streamBlockMs,
    ownReadShare: streamOwnReadShare,
    maxPauseMs: streamBlockMs,
    counters,
    report,
  });

  /**
   * One read of every watched queue's stream (event-stream.ts). Undefined when no queue is watched
   * yet; otherwise whether any event came.
   */
  async function readStreams(): Promise<boolean | undefined> {
    const ready = watched.filter((w) => w.leased && w.lastSeenId !== undefined);
    if (ready.length === 0) return undefined;
    return stream.read(ready);
  }

  /**
   * Reads added jobs back from Redis and records them as queued or delayed. Calls run one at a
   * time per queue, so the cursor never passes adds still being read.
   */
  function recordAdded(w: Watched): Promise<void> {
    const next = w.addedChain.then(() => recordAddedNow(w));
    w.addedChain = next.catch(() => undefined);
    return next;
  }

  async function recordAddedNow(w: Watched): Promise<void> {
    const through = w.lastSeenId ?? w.recordedThroughId;
    if (w.added.size === 0) {
      w.recordedThroughId = through;
      return;
    }
    const entries = [...w.added];
    w.added.clear();
    const events: JobEvent[] = [];
    for (let i = 0; i < entries.length; i += pageSize) {
      const slice = entries.slice(i, i + pageSize);
      let jobs: Map<string, Job | null>;
      try {
        // Jobs known to have run, then jobs Redis says started, are not read back (unstartedIds).
        const unknown = slice.filter(([id, entry]) => !ranSince(w, id, entry)).map(([id]) => id);
        const unstarted = await unstartedIds(redis, w.queue, unknown);
        counters.addsReadBack += unstarted.length;
        jobs = await fetchJobs(w.queue, unstarted);
      } catch (error) {
        // Redis is away: keep what is not read yet for the next round, and the cursor where it is.
        for (const [id, entry] of entries.slice(i)) if (!w.added.has(id)) w.added.set(id, entry);
        if (events.length > 0) recorder.record(events);
        throw error;
      }
      for (const [id, entry] of slice) {
        const job = jobs.get(id);
        // Gone, or already started: a worker process reports it, and one write beats two.
        if (!job || job.processedOn) continue;
        const event = jobEventOf(job, entry.kind, { connection, queue: w.name, payloadCap });
        if (entry.dueAt !== undefined) event.dueAt = entry.dueAt;
        events.push(event);
      }
    }
    counters.added += events.length;
    if (events.length > 0) recorder.record(events);
    w.recordedThroughId = through;
  }

  // ---- the sweep --------------------------------------------------------------------------

  const sweepContext = { db, redis, connection, payloadCap, pageSize, waitingScan, counters };

  async function sweepQueue(w: Watched): Promise<SweepReport> {
    const now = Date.now();
    const to = now - settleMs;
    const from = w.sweptUntil !== undefined ? w.sweptUntil - overlapMs : now - initialLookbackMs;
    const { report: reportRow, events, fromStream } = await sweepFindings(sweepContext, w, { from, to, now });
    if (events.length > 0) recorder.record(events);
    // Only now, with the sweep's findings handed over, are the stream's settled finishes done with.
    for (const [id, finish] of fromStream) if (w.finished.get(id) === finish) w.finished.delete(id);
    // The next sweep starts at `to - overlapMs`; a stream finish is matched within a few seconds.
    if (to > from) forgetWrittenBefore(w, to - overlapMs - 60_000);
    counters.sweeps++;
    await recordAdded(w);
    // The watermark moves only once what the sweep found is written (or safely spooled).
    await recorder.flush();
    await saveCursor(w, to > from ? to : undefined);
    await sampleDepth(w);
    return reportRow;
  }

  /** The queue's depth (waiting, delayed, prioritized) on this minute's metrics row. */
  async function sampleDepth(w: Watched): Promise<void> {
    const depth = await w.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    await db
      .insert(metrics)
      .values({ minute, connection, queue: w.name, depth })
      .onConflictDoUpdate({
        target: [metrics.minute, metrics.connection, metrics.queue],
        set: { depth },
      });
  }

  /**
   * Whether this sweep waits for the recorder's spool: while the recorder is still catching up from
   * it, Postgres looks emptier than it is. For spoolWaitMs at most, then the sweep runs anyway (its
   * writes are idempotent): a spool stuck for any reason must not stop the sweeps for good.
   */
  function waitForSpool(): boolean {
    if (recorder.stats().spoolPending === 0) {
      spoolWaitSince = undefined;
      return false;
    }
    spoolWaitSince ??= Date.now();
    return Date.now() - spoolWaitSince < spoolWaitMs;
  }

  async function sweepAll(): Promise<SweepReport[]> {
    const reports: SweepReport[] = [];
    const waiting = waitForSpool();
    for (const w of watched) {
      if (closed) break;
      try {
        if (!(await lease(w))) continue;
        if (waiting) {
          await recordAdded(w);
          continue;
        }
        reports.push(await sweepQueue(w));
      } catch (error) {
        report(error);
      }
    }
    return reports;
  }

  function sweep(): Promise<SweepReport[]> {
    if (sweeping) return sweeping.then(() => sweep());
    const current = sweepAll().finally(() => {
      sweeping = undefined;
    });
    sweeping = current;
    return current;
  }

  /** Ends the wait between two reads: close() does not wait out a paced read's pause. */
  let endPause: (() => void) | undefined;
  function pauseStream(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      endPause = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Reads the streams until closed: right after a read that waited in vain (the next one waits
   * again), at least streamIntervalMs after one that found events, so a busy queue costs one read
   * per interval, or fewer when the reads find only this host's own finishes (event-stream.ts
   * `pause`). Nothing to read yet, or Redis away: the interval, then again.
   */
  async function streamLoop(): Promise<void> {
    while (!closed) {
      let found: boolean | undefined;
      try {
        found = await readStreams();
        await Promise.all(watched.filter((w) => w.leased).map((w) => recordAdded(w)));
      } catch (error) {
        if (closed) return;
        report(error);
      }
      if (found !== false && !closed) await pauseStream(stream.pause(streamIntervalMs));
    }
  }
  const streaming = streamLoop();

  const sweepTimer = setInterval(() => {
    if (!sweeping && !closed) sweep().catch(report);
  }, sweepIntervalMs);
  sweepTimer.unref();
  // The first sweep at once: it takes the leases and finds where the streams are.
  sweep().catch(report);

  return {
    sweep,
    stats: () => ({ ...counters, watching: watched.filter((w) => w.leased).map((w) => w.name) }),
    async close(): Promise<void> {
      closed = true;
      clearInterval(sweepTimer);
      stopHearingWritten();
      // Ends a read waiting on the stream, or the wait for the next; its loop sees `closed` and stops.
      streamRedis.disconnect();
      endPause?.();
      await streaming;
      await sweeping?.catch(() => undefined);
      for (const w of watched) {
        try {
          if (w.leased) {
            await recordAdded(w);
            await recorder.flush().catch(() => undefined);
            await saveCursor(w, undefined);
            // Hand the lease back so another host can take over at once.
            await db
              .update(recorderCursors)
              .set({ leaseUntil: new Date(0) })
              .where(
                and(
                  eq(recorderCursors.connection, connection),
                  eq(recorderCursors.queue, w.name),
                  eq(recorderCursors.owner, owner),
                ),
              );
          }
        } catch (error) {
          report(error);
        }
        await w.queue.close().catch(() => undefined);
      }
      redis.disconnect();
    },
  };
}

/**
 * BullMQ's Postgres backend has neither the event stream nor the sorted sets read here: its jobs
 * are recorded by the worker processes alone. Said once through `onError` and in the stats.
 */
function unsupported(options: WatchQueuesOptions): QueueWatcher {
  const message = `queue watcher: ${options.connection} is not a Redis connection; only worker processes record its jobs`;
  options.onError?.(new Error(message));
  const stats: QueueWatcherStats = {
    watching: [],
    added: 0,
    sweeps: 0,
    recovered: 0,
    recoveredFromStream: 0,
    streamReads: 0,
    filteredReads: 0,
    pacedReads: 0,
    addsReadBack: 0,
    knownWritten: 0,
    errors: 1,
    lastError: message,
  };
  return { sweep: async () => [], stats: () => ({ ...stats }), close: async () => undefined };
}
