import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { capJson, type JobEvent, STACK_CAP } from './job-event';
import { cleanText, storableText } from './storable';

/**
 * Jobs the queue watcher reads back from Redis (adds it saw on the stream, finishes the sweep found
 * missing), and the event each is recorded as: capped and cleaned like a worker process's own
 * events (worker-job-events.ts), since the job's data is anyone's.
 */

/**
 * Of `ids`, those whose job BullMQ has not started, or no longer holds: one pipelined HGET of each
 * job's `processedOn`, a round trip for all of them. Asked before reading whole jobs back, which
 * costs a command and a reply of every field per job: on a queue that producers feed while workers
 * keep up, nearly every job an add announced has started by the time the add is read.
 */
export async function unstartedIds(redis: Redis, queue: Queue, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const replies = await redis.pipeline(ids.map((id) => ['hget', queue.toKey(id), 'processedOn'])).exec();
  // A command that failed alone says nothing: its job is read back whole.
  return ids.filter((_, i) => {
    const [error, value] = replies?.[i] ?? [null, null];
    return error !== null || value === null || value === '';
  });
}

/** Jobs by id; `null` for ids Redis no longer has. */
export async function fetchJobs(queue: Queue, ids: string[]): Promise<Map<string, Job | null>> {
  const found = new Map<string, Job | null>();
  const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
  ids.forEach((id, i) => {
    found.set(id, (jobs[i] as Job | undefined) ?? null);
  });
  return found;
}

export function jobEventOf(
  job: Job,
  kind: JobEvent['kind'],
  where: { connection: string; queue: string; payloadCap: number },
): JobEvent {
  const { payloadCap } = where;
  const data = capJson(job.data, payloadCap);
  // BullMQ's name is always a string; anything else is recorded as no name.
  const name = typeof job.name === 'string' ? cleanText(job.name) : '';
  const event: JobEvent = {
    kind,
    connection: where.connection,
    queue: where.queue,
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

/** The run number: BullMQ's attemptsStarted, which also counts runs that stalled. */
function attemptOf(job: Job): number {
  if (job.attemptsStarted > 0) return job.attemptsStarted;
  return Math.max(1, job.attemptsMade);
}
