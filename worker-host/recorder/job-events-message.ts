import { isJobEventKind, type JobEvent, type JobEventKind } from './job-event';

/**
 * How a worker process's job events travel to its supervisor over IPC. Every event of one worker
 * process shares its connection, queue and worker, so those are sent once per message, and each
 * event is a tuple rather than an object: on a 20,000-job burst the object form was 257 bytes per
 * event against 73, and writing, reading and parsing them was most of the recording's cost in both
 * processes (2026-12-05: JSON.stringify 0.93 µs per event against 0.42, JSON.parse 0.87 against
 * 0.36, plus the pipe's copies of four times the bytes).
 */
export interface JobEventsMessage {
  type: 'job-events';
  connection: string;
  queue: string;
  workerId: string;
  events: JobEventTuple[];
}

/**
 * One event. `rare` holds the fields most events lack, and is left out when empty; a missing time
 * or payload is `null` (JSON has no `undefined` in arrays).
 */
export type JobEventTuple = EventFields | [...EventFields, rare: RareFields];

type EventFields = [
  kind: JobEventKind,
  jobId: string,
  attempt: number,
  name: string,
  queuedAt: number,
  startedAt: number | null,
  finishedAt: number | null,
  payload: string | null,
];

export type RareFields = Pick<
  JobEvent,
  | 'payloadTruncated'
  | 'sanitized'
  | 'dataSize'
  | 'dueAt'
  | 'maxAttempts'
  | 'result'
  | 'error'
  | 'stack'
  | 'willRetry'
  | 'stalledRuns'
>;

export function isJobEventsMessage(message: unknown): message is {
  type: 'job-events';
  connection: string;
  queue: string;
  workerId: string;
  events: unknown[];
} {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  return (
    m.type === 'job-events' &&
    typeof m.connection === 'string' &&
    typeof m.queue === 'string' &&
    typeof m.workerId === 'string' &&
    Array.isArray(m.events)
  );
}

/**
 * The event a tuple stands for, or undefined when the tuple does not address and order a row
 * (kind, job id, attempt). Optional fields of the wrong type are dropped one by one: a wrong
 * optional field only costs that field.
 */
export function eventOfTuple(
  tuple: unknown,
  shared: { connection: string; queue: string; workerId: string; hostId: string },
): JobEvent | undefined {
  if (!Array.isArray(tuple) || tuple.length < 8) return undefined;
  const [kind, jobId, attempt, name, queuedAt, startedAt, finishedAt, payload, rare] = tuple as unknown[];
  if (!isJobEventKind(kind) || typeof jobId !== 'string') return undefined;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 0) return undefined;
  const event: JobEvent = {
    kind,
    connection: shared.connection,
    queue: shared.queue,
    jobId,
    attempt,
    workerId: shared.workerId,
    hostId: shared.hostId,
  };
  if (typeof name === 'string') event.name = name;
  if (typeof queuedAt === 'number') event.queuedAt = queuedAt;
  if (typeof startedAt === 'number') event.startedAt = startedAt;
  if (typeof finishedAt === 'number') event.finishedAt = finishedAt;
  if (typeof payload === 'string') event.payload = payload;
  if (typeof rare === 'object' && rare !== null) copyRare(rare as Record<string, unknown>, event);
  return event;
}

function copyRare(rare: Record<string, unknown>, event: JobEvent): void {
  if (rare.payloadTruncated === true) event.payloadTruncated = true;
  if (rare.sanitized === true) event.sanitized = true;
  if (typeof rare.dataSize === 'number') event.dataSize = rare.dataSize;
  if (typeof rare.dueAt === 'number') event.dueAt = rare.dueAt;
  if (typeof rare.maxAttempts === 'number') event.maxAttempts = rare.maxAttempts;
  if (typeof rare.result === 'string') event.result = rare.result;
  if (typeof rare.error === 'string') event.error = rare.error;
  if (typeof rare.stack === 'string') event.stack = rare.stack;
  if (rare.willRetry === true) event.willRetry = true;
  const stalled = rare.stalledRuns;
  if (typeof stalled === 'number' && Number.isInteger(stalled) && stalled > 0 && stalled <= 1_000_000) {
    event.stalledRuns = stalled;
  }
}
