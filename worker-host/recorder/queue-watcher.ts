import { type Job, Queue } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { Database } from '../../core/db/database';
import { metrics } from '../../drizzle/schema/metrics';
import { recorderCursors } from '../../drizzle/schema/recorder';
import {
  capJson,
  DEFAULT_PAYLOAD_CAP,
  describeError,
  type JobEvent,
  STACK_CAP,
  shortError,
} from './job-event';
import { lackingFinishes, lackingWaiting } from './recorded-jobs';
import type { Recorder } from './recorder';
import { cleanText, storableText } from './storable';

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
  payloadCap?: number;
  onError?: (error: unknown) => void;
}

export interface SweepReport {
  queue: string;
  checked: number;
  missing: number;
  recorded: number;
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
  errors: number;
  lastError: string | undefined;
}

export interface QueueWatcher {
  /** Runs one sweep of every watched queue now. */
  sweep(): Promise<SweepReport[]>;
  stats(): QueueWatcherStats;
  close(): Promise<void>;
}

interface StreamFinish {
  kind: 'completed' | 'failed';
  at: number;
  error?: string;
}

interface Watched {
  name: string;
  queue: Queue;
  /** The stream's key. */
  eventsKey: string;
  leased: boolean;
  /** Last stream id read (where the next read starts), and the last one whose adds are recorded. */
  lastSeenId: string | undefined;
  recordedThroughId: string | undefined;
  savedId: string | undefined;
  sweptUntil: number | undefined;
  added: Map<string, { kind: 'queued' | 'delayed'; dueAt?: number }>;
  addedChain: Promise<void>;
  /** Finishes seen on the stream, checked by the next sweep once settled. Bounded. */
  finished: Map<string, StreamFinish>;
}

const MAX_STREAM_FINISHES = 200_000;

/**
 * Reads a busy queue's event streams in Redis and answers only what the watcher uses: for each
 * stream, its key, the last id read ('' when nothing came) and, flat, `id, event, jobId, extra` of
 * its added, delayed, completed and failed events (extra: the due time, or the failed reason).
 * Under load most entries are `active` events and every entry carries fields the watcher never
 * reads (`returnvalue`, `prev`); decoding them all was most of the supervisor's CPU per job
 * (--cpu-prof under `npm run bench:shipped`). KEYS: the streams; ARGV: count, then each stream's
 * last id read. XRANGE's exclusive start needs Redis 6.2.
 */
const FILTERED_READ = `
local out = {}
for i, key in ipairs(KEYS) do
  local entries = redis.call('XRANGE', key, '(' .. ARGV[i + 1], '+', 'COUNT', ARGV[1])
  local rows = {}
  local last = ''
  for _, entry in ipairs(entries) do
    last = entry[1]
    local fields = entry[2]
    local event, jobId, extra = nil, nil, ''
    for j = 1, #fields - 1, 2 do
      local name = fields[j]
      if name == 'event' then event = fields[j + 1]
      elseif name == 'jobId' then jobId = fields[j + 1]
      elseif name == 'delay' or name == 'failedReason' then extra = fields[j + 1] end
    end
    if jobId and (event == 'added' or event == 'delayed' or event == 'completed' or event == 'failed') then
      rows[#rows + 1] = entry[1]
      rows[#rows + 1] = event
      rows[#rows + 1] = jobId
      rows[#rows + 1] = extra
    end
  end
  out[#out + 1] = { key, last, rows }
end
return out
`;

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
    };
  });

  let closed = false;
  /** The last read found events: the next is a filtered one (FILTERED_READ), not a blocking XREAD. */
  let busy = false;
  let filteredReads = true;
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

  /**
   * One read of every watched queue's stream (a single XREAD, waiting up to streamBlockMs for an
   * event when there is none), folded into `added`/`finished`. Undefined when no queue is watched
   * yet; otherwise whether any event came.
   */
  async function readStreams(): Promise<boolean | undefined> {
    const ready = watched.filter((w) => w.leased && w.lastSeenId !== undefined);
    if (ready.length === 0) return undefined;
    counters.streamReads++;
    if (busy && filteredReads) {
      counters.filteredReads++;
      try {
        busy = await readStreamsFiltered(ready);
        // Nothing new: the next read is the blocking one, which waits for the next event.
        return busy;
      } catch (error) {
        // A server without Lua or XRANGE's exclusive bounds (Redis before 6.2): plain reads only.
        filteredReads = false;
        report(error);
      }
    }
    const reply = (await streamRedis.xread(
      'COUNT',
      streamCount,
      'BLOCK',
      streamBlockMs,
      'STREAMS',
      ...ready.map((w) => w.eventsKey),
      ...ready.map((w) => w.lastSeenId as string),
    )) as [key: string, entries: [id: string, fields: string[]][]][] | null;
    if (!reply) {
      busy = false;
      return false;
    }
    for (const [key, entries] of reply) {
      const w = ready.find((candidate) => candidate.eventsKey === key);
      if (!w) continue;
      for (const [id, fields] of entries) {
        w.lastSeenId = id;
        noteEvent(w, id, fields);
      }
    }
    busy = true;
    return true;
  }

  /**
   * A read of a busy stream, filtered in Redis (FILTERED_READ): only the events the watcher uses,
   * and of those only the fields it reads. Whether any entry came.
   */
  async function readStreamsFiltered(ready: Watched[]): Promise<boolean> {
    const reply = (await redis.eval(
      FILTERED_READ,
      ready.length,
      ...ready.map((w) => w.eventsKey),
      streamCount,
      ...ready.map((w) => w.lastSeenId as string),
    )) as [key: string, lastId: string, rows: string[]][];
    let any = false;
    for (const [key, lastId, rows] of reply) {
      const w = ready.find((candidate) => candidate.eventsKey === key);
      if (!w || lastId === '') continue;
      any = true;
      for (let i = 0; i + 3 < rows.length; i += 4) {
        noteParsed(w, rows[i] as string, rows[i + 1], rows[i + 2], rows[i + 3]);
      }
      w.lastSeenId = lastId;
    }
    return any;
  }

  /** BullMQ stream entries are flat field lists: `event, <name>, jobId, <id>, ...`. */
  function noteEvent(w: Watched, id: string, fields: string[]): void {
    let event: string | undefined;
    let jobId: string | undefined;
    let extra: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      const value = fields[i + 1];
      if (name === 'event') event = value;
      else if (name === 'jobId') jobId = value;
      else if (name === 'delay' || name === 'failedReason') extra = value;
    }
    noteParsed(w, id, event, jobId, extra);
  }

  /** `extra` is a delayed event's due time, or a failed event's reason. */
  function noteParsed(
    w: Watched,
    id: string,
    event: string | undefined,
    jobId: string | undefined,
    extra: string | undefined,
  ): void {
    if (jobId === undefined) return;
    switch (event) {
      case 'added':
        w.added.set(jobId, { kind: 'queued' });
        break;
      case 'delayed':
        w.added.set(jobId, { kind: 'delayed', dueAt: Number(extra) || undefined });
        break;
      case 'completed':
        noteFinish(w, jobId, { kind: 'completed', at: streamTime(id) });
        break;
      case 'failed':
        noteFinish(w, jobId, { kind: 'failed', at: streamTime(id), error: extra || undefined });
        break;
    }
  }

  function noteFinish(w: Watched, jobId: string, finish: StreamFinish): void {
    // A retried job fails more than once; only the last word matters.
    w.finished.delete(jobId);
    if (w.finished.size >= MAX_STREAM_FINISHES) {
      // Oldest first out: the completed-set sweep still covers any job Redis keeps.
      const oldest = w.finished.keys().next();
      if (!oldest.done) w.finished.delete(oldest.value);
    }
    w.finished.set(jobId, finish);
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
        jobs = await fetchJobs(
          w,
          slice.map(([id]) => id),
        );
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
        const event = jobEvent(w.name, job, entry.kind);
        if (entry.dueAt !== undefined) event.dueAt = entry.dueAt;
        events.push(event);
      }
    }
    counters.added += events.length;
    if (events.length > 0) recorder.record(events);
    w.recordedThroughId = through;
  }

  // ---- reading jobs -----------------------------------------------------------------------

  /** Jobs by id; `null` for ids Redis no longer has. */
  async function fetchJobs(w: Watched, ids: string[]): Promise<Map<string, Job | null>> {
    const found = new Map<string, Job | null>();
    const jobs = await Promise.all(ids.map((id) => w.queue.getJob(id)));
    ids.forEach((id, i) => {
      found.set(id, (jobs[i] as Job | undefined) ?? null);
    });
    return found;
  }

  function jobEvent(queue: string, job: Job, kind: JobEvent['kind']): JobEvent {
    const data = capJson(job.data, payloadCap);
    // BullMQ's name is always a string; anything else is recorded as no name.
    const name = typeof job.name === 'string' ? cleanText(job.name) : '';
    const event: JobEvent = {
      kind,
      connection,
      queue,
      jobId: job.id ?? '',
      attempt: kind === 'queued' || kind === 'delayed' ? 0 : attemptOf(job),
      name,
      dataSize: data.size,
      queuedAt: job.timestamp,
    };
    if (data.text !== undefined) event.payload = data.text;
    if (data.truncated) event.payloadTruncated = true;
    if (data.sanitized || (typeof job.name === 'string' && name !== job.name)) event.sanitized = true;
    if (job.opts?.delay) event.dueAt = job.timestamp + job.opts.delay;
    if (job.opts?.attempts) event.maxAttempts = job.opts.attempts;
    if (job.stalledCounter > 0) event.stalledRuns = job.stalledCounter;
    if (kind === 'completed' || kind === 'failed') {
      if (job.processedOn) event.startedAt = job.processedOn;
      event.finishedAt = job.finishedOn ?? Date.now();
    }
    if (kind === 'completed' && job.returnvalue !== undefined && job.returnvalue !== null) {
      const result = capJson(job.returnvalue, payloadCap);
      if (result.text !== undefined) event.result = result.text;
      if (result.sanitized) event.sanitized = true;
    }
    if (kind === 'failed') {
      const error = storableText(String(job.failedReason || 'failed'), payloadCap);
      event.error = error.text;
      const stack = job.stacktrace?.at(-1);
      const cappedStack = typeof stack === 'string' && stack ? storableText(stack, STACK_CAP) : undefined;
      if (cappedStack) event.stack = cappedStack.text;
      if (error.sanitized || cappedStack?.sanitized) event.sanitized = true;
    }
    return event;
  }

  // ---- the sweep --------------------------------------------------------------------------

  /**
   * Jobs finished in [from, to] in one state's sorted set, paged by score: id and score (the job's
   * `finishedOn`).
   */
  async function finishedIds(w: Watched, state: 'completed' | 'failed', from: number, to: number) {
    const key = w.queue.toKey(state);
    const ids: Array<[id: string, finishedOn: number]> = [];
    let min = from;
    let skip = 0;
    for (;;) {
      const reply = await redis.zrangebyscore(key, min, to, 'WITHSCORES', 'LIMIT', skip, pageSize);
      const pairs = reply.length / 2;
      if (pairs === 0) break;
      let lastScore = min;
      let sameAsLast = 0;
      for (let i = 0; i < reply.length; i += 2) {
        const score = Number(reply[i + 1]);
        ids.push([reply[i] as string, score]);
        if (score === lastScore) sameAsLast++;
        else {
          lastScore = score;
          sameAsLast = 1;
        }
      }
      // Next page starts at the last score seen, skipping the members with that score already read.
      if (lastScore === min) skip += pairs;
      else {
        min = lastScore;
        skip = sameAsLast;
      }
      if (pairs < pageSize) break;
    }
    return ids;
  }

  async function sweepQueue(w: Watched): Promise<SweepReport> {
    const reportRow: SweepReport = { queue: w.name, checked: 0, missing: 0, recorded: 0 };
    const now = Date.now();
    const to = now - settleMs;
    const from = w.sweptUntil !== undefined ? w.sweptUntil - overlapMs : now - initialLookbackMs;
    const events: JobEvent[] = [];

    // Finished jobs: every id in the window, plus settled finishes the stream reported.
    const candidates = new Map<string, 'completed' | 'failed'>();
    // When each finished, where Redis says (its stream event's time is another clock's).
    const finishes = new Map<string, number | undefined>();
    if (to > from) {
      for (const state of ['completed', 'failed'] as const) {
        for (const [id, finishedOn] of await finishedIds(w, state, from, to)) {
          candidates.set(id, state);
          finishes.set(id, finishedOn);
        }
      }
    }
    const fromStream = new Map<string, StreamFinish>();
    for (const [id, finish] of w.finished) {
      if (finish.at > to) continue;
      fromStream.set(id, finish);
      if (!candidates.has(id)) {
        candidates.set(id, finish.kind);
        finishes.set(id, undefined);
      }
    }
    reportRow.checked += candidates.size;

    const missingFinished = await lackingFinishes(db, connection, w.name, finishes, pageSize);
    reportRow.missing += missingFinished.size;
    const missingIds = [...missingFinished.keys()];
    for (let i = 0; i < missingIds.length; i += pageSize) {
      const slice = missingIds.slice(i, i + pageSize);
      const jobs = await fetchJobs(w, slice);
      for (const id of slice) {
        const job = jobs.get(id);
        const state = candidates.get(id) ?? 'completed';
        // A job that is no longer finished (retried since) is a worker process's to report.
        if (job && !(typeof job.finishedOn === 'number' && job.finishedOn >= (job.processedOn ?? 0)))
          continue;
        const recorded = missingFinished.get(id);
        if (job) {
          const event = jobEvent(w.name, job, state);
          // The job may be known at a later attempt than Redis says (a stalled run counted twice);
          // a row of an earlier job of this id says nothing about this one.
          if (recorded?.jobTimestamp === job.timestamp) {
            event.attempt = Math.max(event.attempt, recorded.attempts);
          }
          events.push(event);
          counters.recovered++;
          continue;
        }
        const finish = fromStream.get(id);
        if (!finish) continue;
        // Redis removed the job (removeOnComplete/removeOnFail): the stream event is all there is.
        // It is the newest job of its id, the one Postgres has unfinished (or none, then the
        // recorder dates it by its finish).
        const event: JobEvent = {
          kind: finish.kind,
          connection,
          queue: w.name,
          jobId: id,
          attempt: Math.max(1, recorded?.attempts ?? 0),
          finishedAt: finish.at,
          startedAt: finish.at,
        };
        if (recorded?.jobTimestamp !== undefined) event.queuedAt = recorded.jobTimestamp;
        if (finish.error !== undefined) {
          const error = storableText(finish.error, payloadCap);
          event.error = error.text;
          if (error.sanitized) event.sanitized = true;
        }
        events.push(event);
        counters.recoveredFromStream++;
      }
    }

    // The newest waiting and delayed jobs, for adds the stream dropped (or made before the cursor).
    const waitingIds =
      waitingScan > 0
        ? await w.queue.getRanges(['waiting', 'delayed', 'prioritized'], 0, waitingScan - 1, false)
        : [];
    if (waitingIds.length > 0) {
      reportRow.checked += waitingIds.length;
      const missingWaiting = await lackingWaiting(db, connection, w.name, waitingIds, pageSize);
      const ids = [...missingWaiting.keys()];
      const jobs = await fetchJobs(w, ids);
      for (const id of ids) {
        const job = jobs.get(id);
        if (!job) continue;
        // The job of the newest row, put back on the queue by a retry: it has its row.
        const newest = missingWaiting.get(id);
        if (newest !== undefined && job.timestamp <= newest) continue;
        reportRow.missing++;
        events.push(
          jobEvent(
            w.name,
            job,
            job.opts?.delay && job.timestamp + job.opts.delay > now ? 'delayed' : 'queued',
          ),
        );
      }
    }

    if (events.length > 0) recorder.record(events);
    // Only now, with the sweep's findings handed over, are the stream's settled finishes done with.
    for (const [id, finish] of fromStream) if (w.finished.get(id) === finish) w.finished.delete(id);
    reportRow.recorded = events.length;
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

  /**
   * Reads the streams until closed: right after a read that waited in vain (the next one waits
   * again), at least streamIntervalMs after one that found events, so a busy queue costs one read
   * per interval. Nothing to read yet, or Redis away: the interval, then again.
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
      if (found !== false && !closed) await delay(streamIntervalMs);
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
      // Ends a read waiting on the stream; its loop sees `closed` and stops.
      streamRedis.disconnect();
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
    errors: 1,
    lastError: message,
  };
  return { sweep: async () => [], stats: () => ({ ...stats }), close: async () => undefined };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A BullMQ stream id is `<milliseconds>-<sequence>`: the event's time for free. */
function streamTime(id: string): number {
  const ms = Number(id.slice(0, id.indexOf('-')));
  return Number.isFinite(ms) && ms > 0 ? ms : Date.now();
}

function attemptOf(job: Job): number {
  if (job.attemptsStarted > 0) return job.attemptsStarted;
  return Math.max(1, job.attemptsMade);
}
