import type { Queue } from 'bullmq';

/**
 * What the queue watcher (queue-watcher.ts) knows about one queue it watches, and how an event read
 * from the queue's stream folds into it: adds wait to be read back from Redis and recorded,
 * finishes wait for the next sweep to check them once settled.
 */
export interface Watched {
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
  /** Adds seen on the stream, waiting to be read back from Redis; `at` is the stream's time of the add. */
  added: Map<string, AddedJob>;
  addedChain: Promise<void>;
  /** Finishes seen on the stream, checked by the next sweep once settled. Bounded. */
  finished: Map<string, StreamFinish>;
  /**
   * Finishes this host's recorder wrote to Postgres (job id → finish time), which the sweep need
   * not ask Postgres about: at thousands of jobs a second, asking about every job the host's own
   * worker processes reported was one index probe per job in Postgres for nothing. Bounded; what
   * falls out is only asked about again.
   */
  written: Map<string, number>;
}

export interface AddedJob {
  kind: 'queued' | 'delayed';
  at: number;
  dueAt?: number;
}

/** Of a finish read on the stream: whether this host's recorder had written it already. */
export type FinishSeen = 'own' | 'other';

export interface StreamFinish {
  kind: 'completed' | 'failed';
  at: number;
  error?: string;
}

const MAX_STREAM_FINISHES = 200_000;
const MAX_WRITTEN_FINISHES = 200_000;

/** Notes a finish the recorder wrote. */
export function noteWritten(w: Watched, jobId: string, finishedAt: number): void {
  // Re-inserted, so the map stays in the order the finishes were written (oldest first out).
  w.written.delete(jobId);
  if (w.written.size >= MAX_WRITTEN_FINISHES) {
    const oldest = w.written.keys().next();
    if (!oldest.done) w.written.delete(oldest.value);
  }
  w.written.set(jobId, finishedAt);
}

/** Forgets written finishes older than `before`: no sweep looks that far back any more. */
export function forgetWrittenBefore(w: Watched, before: number): void {
  for (const [jobId, finishedAt] of w.written) if (finishedAt < before) w.written.delete(jobId);
}

/** BullMQ stream entries are flat field lists: `event, <name>, jobId, <id>, ...`. */
export function noteEvent(w: Watched, id: string, fields: string[]): FinishSeen | undefined {
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
  return noteParsed(w, id, event, jobId, extra);
}

/**
 * `extra` is a delayed event's due time, or a failed event's reason. For a finish, answers whether
 * this host's recorder has already written it (`own`) or not (`other`); undefined for the rest.
 */
export function noteParsed(
  w: Watched,
  id: string,
  event: string | undefined,
  jobId: string | undefined,
  extra: string | undefined,
): FinishSeen | undefined {
  if (jobId === undefined) return undefined;
  switch (event) {
    case 'added':
      w.added.set(jobId, { kind: 'queued', at: streamTime(id) });
      return undefined;
    case 'delayed':
      w.added.set(jobId, { kind: 'delayed', at: streamTime(id), dueAt: Number(extra) || undefined });
      return undefined;
    case 'completed':
      noteFinish(w, jobId, { kind: 'completed', at: streamTime(id) });
      return w.written.has(jobId) ? 'own' : 'other';
    case 'failed':
      noteFinish(w, jobId, { kind: 'failed', at: streamTime(id), error: extra || undefined });
      return w.written.has(jobId) ? 'own' : 'other';
    default:
      return undefined;
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
 * Whether the job of an add has run since (as far as this host knows without asking Redis): its
 * finish was written by this host's recorder or read on the stream. A later add of the same id is
 * a new job (a reused id), finished after the add or not at all.
 */
export function ranSince(w: Watched, jobId: string, added: AddedJob): boolean {
  const written = w.written.get(jobId);
  if (written !== undefined && written >= added.at) return true;
  const finish = w.finished.get(jobId);
  return finish !== undefined && finish.at >= added.at;
}

/** A BullMQ stream id is `<milliseconds>-<sequence>`: the event's time for free. */
export function streamTime(id: string): number {
  const ms = Number(id.slice(0, id.indexOf('-')));
  return Number.isFinite(ms) && ms > 0 ? ms : Date.now();
}
