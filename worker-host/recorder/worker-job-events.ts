import type { Job, Worker } from 'bullmq';
import { capJson, DEFAULT_PAYLOAD_CAP, type JobEventKind, STACK_CAP } from './job-event';
import type { JobEventsMessage, JobEventTuple, RareFields } from './job-events-message';
import { cleanText, storableText } from './storable';

/**
 * The worker process's half of the recorder: listens to its own BullMQ Worker's events (the only
 * place they fire) and sends them to the supervisor in small batches over IPC, as job-events
 * messages (job-events-message.ts) for `Recorder.accept`. `send` is `process.send` (bound), or
 * anything that delivers the message to the supervisor's recorder.
 *
 * The window is short on purpose: what was handed to `send` is in the pipe and survives this
 * process being killed; only the last window can be lost, and the supervisor's sweep finds those
 * jobs in Redis. A job that starts and ends within one window is sent once, as its final event
 * with its start time, so the attempt is still recorded but costs one event instead of two.
 */

export interface JobEventsContext {
  connection: string;
  queue: string;
  workerId: string;
  /** Not sent: the supervisor's recorder stamps its own host on what its children send. */
  hostId: string;
  /**
   * The worker's `tries`: how many runs a job that sets no `attempts` of its own is allowed (the
   * worker re-queues it itself, see run-worker.ts). Recorded as its max attempts, so a job retried
   * that way reads "2 of 2", not "2 of 1". Default 1.
   */
  tries?: number;
}

export interface JobEventsOptions {
  /** How long an event may wait in this process before it is sent. */
  windowMs?: number;
  /** Send at once when this many events are waiting. */
  maxBatch?: number;
  payloadCap?: number;
}

export interface JobEventsHandle {
  /** Sends everything now, including jobs still running (as `active`). */
  flush(): void;
  /**
   * Flushes, then stops listening. Call it after `await worker.close()`, so the last jobs'
   * completions go out with it; whatever ends after close() is left to the supervisor's sweep.
   */
  close(): void;
  /** `wakeups`: window ticks run, none while no job runs or waits to be sent. */
  stats(): { sent: number; messages: number; coalesced: number; sendErrors: number; wakeups: number };
}

type AnyJob = Job<unknown, unknown, string>;

export function attachJobEvents(
  worker: Worker,
  context: JobEventsContext,
  send: (message: unknown) => void,
  options: JobEventsOptions = {},
): JobEventsHandle {
  const windowMs = options.windowMs ?? 50;
  const maxBatch = options.maxBatch ?? 1_000;
  const payloadCap = options.payloadCap ?? DEFAULT_PAYLOAD_CAP;
  // The host is left out of the events: the supervisor receiving them knows which host it is.
  const { connection, queue, workerId } = context;
  const tries = context.tries ?? 1;

  /** Jobs started and not yet reported, with when they started. Keyed by the Job object itself. */
  let started = new Map<AnyJob, number>();
  let outgoing: JobEventTuple[] = [];
  const counters = { sent: 0, messages: 0, coalesced: 0, sendErrors: 0, wakeups: 0 };
  /**
   * The window's timer runs only while a job runs or an event waits: an idle worker process is not
   * woken 20 times a second for nothing (with twenty processes on a host, that was most of what
   * they cost while idle).
   */
  let timer: ReturnType<typeof setInterval> | undefined;

  /** The event as sent; `rare` gathers what most events lack (the tuple leaves it out when empty). */
  function tupleOf(
    kind: JobEventKind,
    job: AnyJob,
    finishedAt: number | null,
    rare: RareFields = {},
  ): JobEventTuple {
    const data = capJson(job.data, payloadCap);
    // Left out when it is the payload's length (ASCII, not cut), which the recorder assumes.
    if (data.size !== (data.text?.length ?? 0)) rare.dataSize = data.size;
    if (data.truncated) rare.payloadTruncated = true;
    if (data.sanitized) rare.sanitized = true;
    // BullMQ's name is always a string; anything else is recorded as no name.
    const name = typeof job.name === 'string' ? cleanText(job.name) : '';
    if (typeof job.name === 'string' && name !== job.name) rare.sanitized = true;
    const delay = job.opts?.delay;
    if (delay) rare.dueAt = job.timestamp + delay;
    if (job.opts?.attempts) rare.maxAttempts = job.opts.attempts;
    else if (tries > 1) rare.maxAttempts = tries;
    if (job.stalledCounter > 0) rare.stalledRuns = job.stalledCounter;
    const id = job.id ?? '';
    const attempt = attemptOf(job);
    const startedAt = job.processedOn ?? null;
    const payload = data.text ?? null;
    return hasFields(rare)
      ? [kind, id, attempt, name, job.timestamp, startedAt, finishedAt, payload, rare]
      : [kind, id, attempt, name, job.timestamp, startedAt, finishedAt, payload];
  }

  function push(event: JobEventTuple): void {
    outgoing.push(event);
    if (outgoing.length >= maxBatch) sendNow();
    arm();
  }

  function arm(): void {
    // Only the listeners arm it, and close() removes them first.
    if (timer) return;
    timer = setInterval(tick, windowMs);
    // Never the reason a worker process stays alive.
    timer.unref();
  }

  function sendNow(): void {
    if (outgoing.length === 0) return;
    const events = outgoing;
    outgoing = [];
    const message: JobEventsMessage = { type: 'job-events', connection, queue, workerId, events };
    try {
      send(message);
      counters.sent += events.length;
      counters.messages++;
    } catch {
      // The channel is gone (the supervisor died): these jobs are found again by the sweep.
      counters.sendErrors++;
    }
  }

  /** Jobs running for at least one window are reported as active, so long jobs show up at once. */
  function reportLongRunning(all: boolean): void {
    if (started.size === 0) return;
    const cutoff = Date.now() - windowMs;
    const remaining = new Map<AnyJob, number>();
    for (const [job, at] of started) {
      if (all || at <= cutoff) outgoing.push(tupleOf('active', job, null));
      else remaining.set(job, at);
    }
    started = remaining;
  }

  function tick(): void {
    counters.wakeups++;
    reportLongRunning(false);
    sendNow();
    if (started.size === 0 && outgoing.length === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  const onActive = (job: AnyJob) => {
    started.set(job, Date.now());
    arm();
  };

  const onCompleted = (job: AnyJob, result: unknown) => {
    if (started.delete(job)) counters.coalesced++;
    const rare: RareFields = {};
    if (result !== undefined) {
      const capped = capJson(result, payloadCap);
      if (capped.text !== undefined) rare.result = capped.text;
      if (capped.sanitized) rare.sanitized = true;
    }
    push(tupleOf('completed', job, job.finishedOn ?? Date.now(), rare));
  };

  const onFailed = (job: AnyJob | undefined, error: Error) => {
    // BullMQ passes no job when a job that stalled too often was removed; the sweep covers it.
    if (!job) return;
    if (started.delete(job)) counters.coalesced++;
    // BullMQ sets finishedOn only when the job failed for good; an attempt with a retry to come has
    // none (or an older one, from before a manual retry).
    const final = typeof job.finishedOn === 'number' && job.finishedOn >= (job.processedOn ?? 0);
    const rare: RareFields = {};
    // What a processor throws is the user's: any value, any text.
    const message = error?.message ?? job.failedReason ?? 'failed';
    rare.error = cappedText(typeof message === 'string' ? message : String(message), payloadCap, rare);
    if (!final) rare.willRetry = true;
    if (typeof error?.stack === 'string') rare.stack = cappedText(error.stack, STACK_CAP, rare);
    push(tupleOf('failed', job, final ? (job.finishedOn as number) : Date.now(), rare));
  };

  worker.on('active', onActive);
  worker.on('completed', onCompleted);
  worker.on('failed', onFailed);

  return {
    flush(): void {
      reportLongRunning(true);
      sendNow();
    },
    close(): void {
      worker.off('active', onActive);
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
      clearInterval(timer);
      timer = undefined;
      reportLongRunning(true);
      sendNow();
    },
    stats: () => ({ ...counters }),
  };
}

/** Text cut to `cap` and cleaned (storable.ts), flagging `rare` when cleaning changed it. */
function cappedText(text: string, cap: number, rare: RareFields): string {
  const storable = storableText(text, cap);
  if (storable.sanitized) rare.sanitized = true;
  return storable.text;
}

function hasFields(value: object): boolean {
  for (const _ in value) return true;
  return false;
}

/** The run number: BullMQ's attemptsStarted, which also counts runs that stalled. */
function attemptOf(job: AnyJob): number {
  if (job.attemptsStarted > 0) return job.attemptsStarted;
  return Math.max(1, job.attemptsMade);
}
