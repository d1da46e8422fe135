import type { Redis } from 'ioredis';
import { noteEvent, noteParsed, streamTime, type Watched } from './watched-queue';

/**
 * Reads a busy queue's event streams in Redis and answers only what the watcher uses: for each
 * stream, its key, the last id read ('' when nothing came) and, flat, `id, event, jobId, extra` of
 * its added, delayed, completed and failed events (extra: the due time, or the failed reason).
 * Under load most entries are `active` events and every entry carries fields the watcher never
 * reads (`returnvalue`, `prev`); decoding them all was most of the supervisor's CPU per job
 * (--cpu-prof under `npm run bench:shipped`). KEYS: the streams; ARGV: count, then each stream's
 * last id read. XRANGE's exclusive start needs Redis 6.2.
 *
 * The rows come back joined by NUL into one string: decoded by ioredis as four replies per event,
 * they cost the supervisor 1.5–2 µs per job on a busy queue, and Redis no more to build (reading
 * 20,000 jobs' events: the client's CPU 36–39 ms against 5–9 ms joined, Redis's 71–79 ms against
 * 63–72 ms). NUL cannot appear inside a UTF-8 sequence, so splitting after ioredis
 * decodes the string is exact; a read where a job id or a failed reason holds a NUL itself comes
 * back as the flat list instead.
 *
 * Redis pays for a filtered read by the entry, filtered out or not: 2.3–2.9 µs an entry (a plain
 * XRANGE, 0.7, but ioredis then spends 6–8 µs an entry decoding it), two to four entries a job.
 * On a busy queue whose finishes all come from this host's own worker processes, what the reads
 * find is already recorded, so those reads are paced to a share of Redis's time (`pause`); under
 * `npm run bench:shipped` the watcher's reads went from 5.9 to 1.0–1.9 µs of Redis a job. A read
 * that finds other workers' finishes keeps the watcher's pace: for a job such a worker ran and
 * Redis then removed, the stream is the only witness, and what it trims before a read is lost.
 */
const FILTERED_READ = `
local out = {}
for i, key in ipairs(KEYS) do
  local entries = redis.call('XRANGE', key, '(' .. ARGV[i + 1], '+', 'COUNT', ARGV[1])
  local rows = {}
  local n = 0
  local joinable = true
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    local event, jobId, extra = nil, nil, ''
    for j = 1, #fields - 1, 2 do
      local name = fields[j]
      if name == 'event' then event = fields[j + 1]
      elseif name == 'jobId' then jobId = fields[j + 1]
      elseif name == 'delay' or name == 'failedReason' then extra = fields[j + 1] end
    end
    if jobId and (event == 'added' or event == 'delayed' or event == 'completed' or event == 'failed') then
      rows[n + 1] = entry[1]
      rows[n + 2] = event
      rows[n + 3] = jobId
      rows[n + 4] = extra
      n = n + 4
      if joinable and (string.find(jobId, '\\0', 1, true) or string.find(extra, '\\0', 1, true)) then
        joinable = false
      end
    end
  end
  local last = ''
  if #entries > 0 then last = entries[#entries][1] end
  if joinable then out[#out + 1] = { key, last, table.concat(rows, '\\0') } else out[#out + 1] = { key, last, rows } end
end
return out
`;

export interface EventStreamOptions {
  /** For the filtered reads. */
  redis: Redis;
  /** For blocking reads: a connection of its own, which a blocking read holds. */
  streamRedis: Redis;
  /** Most events read per queue per read. */
  streamCount: number;
  /** How long one read of an idle stream waits for an event (XREAD BLOCK). */
  streamBlockMs: number;
  /**
   * The share of Redis's time that busy reads finding only finishes this host's recorder already
   * wrote may take: after such a read the next one waits until the read is this share of the
   * time between them (`pause`). Other reads keep the watcher's own pace.
   */
  ownReadShare: number;
  /** The longest such wait. */
  maxPauseMs: number;
  counters: { streamReads: number; filteredReads: number; pacedReads: number };
  report: (error: unknown) => void;
}

export interface EventStream {
  /**
   * One read of the queues' streams, folded into their `added`/`finished` (watched-queue.ts):
   * a blocking XREAD while the streams are idle, a filtered read while they are busy. Whether any
   * event came.
   */
  read(ready: Watched[]): Promise<boolean>;
  /** How long to wait before the next read, `paceMs` being the watcher's own pace. */
  pause(paceMs: number): number;
}

/** At least this share of a read's finishes were written by this host for the read to be paced. */
const OWN_SHARE = 0.9;
/**
 * A finish younger than this that the recorder has not written yet may still be on its way to it
 * (a worker process's send window, a flush interval, a statement): it counts neither way.
 */
const RECENT_MS = 1_000;

export function eventStream(options: EventStreamOptions): EventStream {
  const { redis, streamRedis, streamCount, streamBlockMs, counters } = options;
  /** The last read found events: the next is a filtered one (FILTERED_READ), not a blocking XREAD. */
  let busy = false;
  let filteredReads = true;
  /** How long the last filtered read took, when what it found was this host's own finishes. */
  let ownReadMs: number | undefined;

  /**
   * A read of a busy stream, filtered in Redis (FILTERED_READ): only the events the watcher uses,
   * and of those only the fields it reads. Whether any entry came.
   */
  async function readFiltered(ready: Watched[]): Promise<boolean> {
    const started = performance.now();
    const reply = (await redis.eval(
      FILTERED_READ,
      ready.length,
      ...ready.map((w) => w.eventsKey),
      streamCount,
      ...ready.map((w) => w.lastSeenId as string),
    )) as [key: string, lastId: string, rows: string | string[]][];
    const readMs = performance.now() - started;
    const recentSince = Date.now() - RECENT_MS;
    let any = false;
    let finishes = 0;
    let own = 0;
    for (const [key, lastId, packed] of reply) {
      const w = ready.find((candidate) => candidate.eventsKey === key);
      if (!w || lastId === '') continue;
      any = true;
      const rows = typeof packed !== 'string' ? packed : packed === '' ? [] : packed.split('\0');
      for (let i = 0; i + 3 < rows.length; i += 4) {
        const id = rows[i] as string;
        const finish = noteParsed(w, id, rows[i + 1], rows[i + 2], rows[i + 3]);
        if (finish === 'own') {
          own++;
          finishes++;
        } else if (finish === 'other' && streamTime(id) < recentSince) finishes++;
      }
      w.lastSeenId = lastId;
    }
    ownReadMs = finishes > 0 && own >= finishes * OWN_SHARE ? readMs : undefined;
    return any;
  }

  async function read(ready: Watched[]): Promise<boolean> {
    counters.streamReads++;
    ownReadMs = undefined;
    if (busy && filteredReads) {
      counters.filteredReads++;
      try {
        busy = await readFiltered(ready);
        // Nothing new: the next read is the blocking one, which waits for the next event.
        return busy;
      } catch (error) {
        // A server without Lua or XRANGE's exclusive bounds (Redis before 6.2): plain reads only.
        filteredReads = false;
        options.report(error);
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

  function pause(paceMs: number): number {
    if (ownReadMs === undefined) return paceMs;
    const paced = Math.min(options.maxPauseMs, ownReadMs / options.ownReadShare - ownReadMs);
    if (paced <= paceMs) return paceMs;
    counters.pacedReads++;
    return paced;
  }

  return { read, pause };
}
