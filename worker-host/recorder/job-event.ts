import {
  cleanText,
  cutText,
  hasUnstorableEscape,
  MAX_PAYLOAD_DEPTH,
  mayNestDeeperThan,
  nestedDeeperThan,
  storableCopy,
} from './storable';

/**
 * What the recorder records: one step of one job's life. Worker processes send these to their
 * supervisor over IPC (job-events-message.ts); the queue watcher and its sweep produce them too.
 * Every event carries its own connection and queue, so a batch may mix queues.
 *
 * Times are milliseconds since the epoch, taken from BullMQ's own job fields (`timestamp`,
 * `processedOn`, `finishedOn`), so an event read back from Redis by the sweep is the same event
 * the worker process would have sent.
 */
export type JobEventKind = 'queued' | 'delayed' | 'active' | 'completed' | 'failed';

export interface JobEvent {
  kind: JobEventKind;
  connection: string;
  queue: string;
  jobId: string;
  /**
   * Which run of the job this is: BullMQ's `attemptsStarted` after the job became active (1 for
   * the first run; a stalled run counts). 0 for `queued` and `delayed`. Together with the kind it
   * orders a job's events, so a late event never moves the job backwards.
   */
  attempt: number;
  name?: string;
  /** The job's data as JSON text, at most the payload cap; a JSON string of a prefix when cut. */
  payload?: string;
  payloadTruncated?: boolean;
  /**
   * Some of the job's recorded text (data, name, exception, result) was cleaned of what Postgres
   * refuses, or a value JSON cannot hold was replaced by a marker (storable.ts).
   */
  sanitized?: boolean;
  /** Size in bytes of the job's full data as JSON. */
  dataSize?: number;
  maxAttempts?: number;
  queuedAt?: number;
  /** When the job is due (delayed jobs), so wait time does not count the delay. */
  dueAt?: number;
  startedAt?: number;
  finishedAt?: number;
  workerId?: string;
  hostId?: string;
  /** Return value as JSON text (capped), for `completed`. */
  result?: string;
  error?: string;
  stack?: string;
  /** For `failed`: BullMQ will run the job again (an attempt failed, not the job). */
  willRetry?: boolean;
  /**
   * How many of the job's runs so far BullMQ found stalled (its `stalledCounter`), sent when above
   * 0. A run cut off with its host before its start was written leaves no row; this says how
   * many such runs there may be (flush-statement.ts fills them in).
   */
  stalledRuns?: number;
}

/** Payloads and results above this many bytes of JSON are stored cut down, flagged as such. */
export const DEFAULT_PAYLOAD_CAP = 16 * 1024;
/** Error stacks are kept to this many characters: enough to find the frame, not a log file. */
export const STACK_CAP = 8 * 1024;

const KINDS: ReadonlySet<string> = new Set(['queued', 'delayed', 'active', 'completed', 'failed']);

export function isJobEventKind(value: unknown): value is JobEventKind {
  return typeof value === 'string' && KINDS.has(value);
}

export interface CappedJson {
  text: string | undefined;
  /** Cut to the cap in size, or nesting cut at MAX_PAYLOAD_DEPTH. */
  truncated: boolean;
  /** Text cleaned of what Postgres refuses, or a value JSON cannot hold replaced (storable.ts). */
  sanitized: boolean;
  size: number;
}

/**
 * JSON text of a value that Postgres will store, cut to `cap` bytes when larger. A cut payload is
 * no longer valid JSON, so it is kept as a JSON string holding the prefix (its escapes are then
 * plain characters Postgres takes); the flags tell readers which one they have. The fast path, for
 * nearly every job, is JSON.stringify and two cheap tests of its output (storable.ts).
 */
export function capJson(value: unknown, cap: number = DEFAULT_PAYLOAD_CAP): CappedJson {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A cycle, a BigInt, nesting past what JSON.stringify can walk: the slow path says which.
    return capStorableCopy(value, cap, undefined);
  }
  if (text === undefined) return { text: undefined, truncated: false, sanitized: false, size: 0 };
  const size = Buffer.byteLength(text);
  if (size > cap)
    return { text: JSON.stringify(cutToBytes(text, cap)), truncated: true, sanitized: false, size };
  if (hasUnstorableEscape(text) || tooDeep(value, text)) return capStorableCopy(value, cap, size);
  return { text, truncated: false, sanitized: false, size };
}

function tooDeep(value: unknown, json: string): boolean {
  if (!mayNestDeeperThan(json, MAX_PAYLOAD_DEPTH)) return false;
  try {
    return nestedDeeperThan(value, MAX_PAYLOAD_DEPTH);
  } catch {
    return true; // a getter that throws: the slow path says so
  }
}

/** capJson's slow path; `size` is the full value's JSON size when JSON.stringify could tell it. */
function capStorableCopy(value: unknown, cap: number, size: number | undefined): CappedJson {
  let text: string | undefined;
  let truncated = false;
  let sanitized = true;
  try {
    const copied = storableCopy(value);
    text = JSON.stringify(copied.value);
    truncated = copied.cut;
    sanitized = copied.sanitized;
  } catch (error) {
    // A getter or toJSON that throws: what was there is said, not kept.
    text = JSON.stringify(`[unserializable: ${cleanText(describeError(error))}]`);
  }
  if (text === undefined) return { text: undefined, truncated: false, sanitized, size: 0 };
  const copySize = Buffer.byteLength(text);
  if (copySize > cap) {
    return {
      text: JSON.stringify(cutToBytes(text, cap)),
      truncated: true,
      sanitized,
      size: size ?? copySize,
    };
  }
  return { text, truncated, sanitized, size: size ?? copySize };
}

function cutToBytes(text: string, cap: number): string {
  const buffer = Buffer.from(text);
  let end = cap;
  // Back off to the start of a UTF-8 sequence, so no character is cut in half.
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  return buffer.subarray(0, end).toString('utf8');
}

/** Text cut to `cap` characters and cleaned of what Postgres refuses (storable.ts). */
export function capText(text: string | undefined, cap: number): string | undefined {
  if (text === undefined) return undefined;
  return cleanText(cutText(text, cap));
}

/**
 * A short account of an error for stats and logs. Drizzle wraps a driver's error in one whose
 * message is the whole statement with its parameters (megabytes for a flush): the driver's own
 * error, at the end of the `cause` chain, is what says what went wrong.
 */
export function describeError(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    const cause = current instanceof Error ? (current as { cause?: unknown }).cause : undefined;
    if (cause === undefined || cause === null) break;
    current = cause;
  }
  if (current instanceof Error) {
    // A refused connection arrives as an AggregateError with an empty message.
    const text = current.message || (current as { code?: string }).code || current.name;
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  }
  return String(current).slice(0, 300);
}

/** The error handed to `onError` callbacks: a short message, the original as its cause. */
export function shortError(error: unknown): Error {
  return new Error(describeError(error), { cause: error });
}
