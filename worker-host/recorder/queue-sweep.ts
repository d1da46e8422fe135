import type { Redis } from 'ioredis';
import type { Database } from '../../core/db/database';
import type { JobEvent } from './job-event';
import { lackingFinishes, lackingWaiting } from './recorded-jobs';
import { storableText } from './storable';
import { fetchJobs, jobEventOf } from './watched-job';
import type { StreamFinish, Watched } from './watched-queue';

/**
 * What one sweep of a queue finds missing in Postgres (queue-watcher.ts runs it, records the
 * findings and moves the watermark): the completed and failed sets by finish time in the window,
 * the settled finishes the stream reported, and the newest waiting and delayed jobs.
 */

export interface SweepReport {
  queue: string;
  checked: number;
  missing: number;
  recorded: number;
}

export interface SweepContext {
  db: Database;
  redis: Redis;
  connection: string;
  payloadCap: number;
  /** Ids per Redis read and per Postgres check. */
  pageSize: number;
  /** How many of the newest waiting and delayed jobs each sweep checks. */
  waitingScan: number;
  counters: { recovered: number; recoveredFromStream: number; knownWritten: number };
}

/**
 * How far a finish's time on the event stream (Redis's clock) may be from the one the worker
 * process reported (its host's clock) and still be taken for the same finish.
 */
const STREAM_CLOCK_SLACK_MS = 5_000;

export interface SweepFindings {
  report: SweepReport;
  /** Events to record for the jobs found missing. */
  events: JobEvent[];
  /** The stream's finishes this sweep covered: done with once the events are handed over. */
  fromStream: Map<string, StreamFinish>;
}

/**
 * Jobs finished in [from, to] in one state's sorted set, paged by score: id and score (the job's
 * `finishedOn`).
 */
async function finishedIds(redis: Redis, key: string, from: number, to: number, pageSize: number) {
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

/** Finishes are looked for in [from, to]; `now` dates what is due. */
export async function sweepFindings(
  context: SweepContext,
  w: Watched,
  window: { from: number; to: number; now: number },
): Promise<SweepFindings> {
  const { db, redis, connection, pageSize, payloadCap, counters } = context;
  const { from, to, now } = window;
  const where = { connection, queue: w.name, payloadCap };
  const report: SweepReport = { queue: w.name, checked: 0, missing: 0, recorded: 0 };
  const events: JobEvent[] = [];

  // Finished jobs: every id in the window, plus settled finishes the stream reported.
  const candidates = new Map<string, 'completed' | 'failed'>();
  // When each finished, where Redis says (its stream event's time is another clock's).
  const finishes = new Map<string, number | undefined>();
  if (to > from) {
    for (const state of ['completed', 'failed'] as const) {
      for (const [id, finishedOn] of await finishedIds(redis, w.queue.toKey(state), from, to, pageSize)) {
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
  // Finishes this host's recorder wrote: the same job's (same id, same finish), so already there.
  for (const [id, finishedOn] of finishes) {
    const written = w.written.get(id);
    if (written === undefined) continue;
    const at = finishedOn ?? fromStream.get(id)?.at;
    const same =
      finishedOn !== undefined
        ? written === finishedOn
        : at !== undefined && Math.abs(written - at) <= STREAM_CLOCK_SLACK_MS;
    if (!same) continue;
    finishes.delete(id);
    candidates.delete(id);
    counters.knownWritten++;
  }
  report.checked += candidates.size;

  const missingFinished = await lackingFinishes(db, connection, w.name, finishes, pageSize);
  report.missing += missingFinished.size;
  const missingIds = [...missingFinished.keys()];
  for (let i = 0; i < missingIds.length; i += pageSize) {
    const slice = missingIds.slice(i, i + pageSize);
    const jobs = await fetchJobs(w.queue, slice);
    for (const id of slice) {
      const job = jobs.get(id);
      const state = candidates.get(id) ?? 'completed';
      // A job that is no longer finished (retried since) is a worker process's to report.
      if (job && !(typeof job.finishedOn === 'number' && job.finishedOn >= (job.processedOn ?? 0))) continue;
      const recorded = missingFinished.get(id);
      if (job) {
        const event = jobEventOf(job, state, where);
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
    context.waitingScan > 0
      ? await w.queue.getRanges(['waiting', 'delayed', 'prioritized'], 0, context.waitingScan - 1, false)
      : [];
  if (waitingIds.length > 0) {
    report.checked += waitingIds.length;
    const missingWaiting = await lackingWaiting(db, connection, w.name, waitingIds, pageSize);
    const ids = [...missingWaiting.keys()];
    const jobs = await fetchJobs(w.queue, ids);
    for (const id of ids) {
      const job = jobs.get(id);
      if (!job) continue;
      // The job of the newest row, put back on the queue by a retry: it has its row.
      const newest = missingWaiting.get(id);
      if (newest !== undefined && job.timestamp <= newest) continue;
      report.missing++;
      const due = job.opts?.delay && job.timestamp + job.opts.delay > now;
      events.push(jobEventOf(job, due ? 'delayed' : 'queued', where));
    }
  }
  report.recorded = events.length;
  return { report, events, fromStream };
}
