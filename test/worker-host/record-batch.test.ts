import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../worker-host/recorder/job-event';
import { RecordBatch } from '../../worker-host/recorder/record-batch';

/**
 * The recorder's buffer on its own: which rows a run of events folds into. The end-to-end suites
 * (recorder.test.ts, job-commands.test.ts) check what reaches Postgres.
 */
const at = 1_700_000_000_000;
const event = (kind: JobEvent['kind'], attempt: number, extra: Partial<JobEvent> = {}): JobEvent => ({
  kind,
  connection: 'default',
  queue: 'mail',
  jobId: '7',
  attempt,
  name: 'send',
  queuedAt: at,
  workerId: `w-${attempt}`,
  hostId: 'host-a',
  ...(kind === 'queued' ? {} : { startedAt: at + attempt * 100 }),
  ...(kind === 'completed' || kind === 'failed' ? { finishedAt: at + attempt * 100 + 10 } : {}),
  ...extra,
});

function fold(...events: JobEvent[]) {
  const batch = new RecordBatch();
  for (const e of events) batch.add(e, at);
  const size = batch.size;
  const [chunk, ...rest] = batch.take(100);
  expect(rest).toEqual([]);
  return { size, jobs: chunk?.jobs ?? [], attempts: chunk?.attempts ?? [] };
}

describe('record batch', () => {
  it('keeps a clean first run in the job row alone', () => {
    const { size, jobs, attempts } = fold(event('queued', 0), event('completed', 1));
    expect(size).toBe(1);
    expect(jobs).toMatchObject([{ status: 'completed', attempt: 1, workerId: 'w-1', startedAt: at + 100 }]);
    expect(attempts).toEqual([]);
  });

  it('completes a run reported running in the same buffer through the job row', () => {
    const { jobs, attempts } = fold(event('active', 1), event('completed', 1));
    expect(jobs).toMatchObject([{ status: 'completed', attempt: 1 }]);
    expect(attempts).toEqual([]);
  });

  it('writes an attempt row for every run of a job that failed or ran again', () => {
    const { jobs, attempts } = fold(
      event('failed', 1, { willRetry: true, error: 'boom' }),
      event('completed', 2),
    );
    expect(jobs).toMatchObject([{ status: 'completed', attempt: 2 }]);
    expect(attempts.map((a) => [a.attempt, a.status, a.errorMessage])).toEqual([
      [1, 'failed', 'boom'],
      [2, 'completed', undefined],
    ]);
  });

  it('turns a first run into an attempt row when a later run takes the job row over', () => {
    // A completed job retried before the buffer was flushed.
    const { jobs, attempts } = fold(event('completed', 1), event('active', 2));
    expect(jobs).toMatchObject([{ status: 'processing', attempt: 2 }]);
    expect(attempts).toMatchObject([
      {
        attempt: 1,
        status: 'completed',
        workerId: 'w-1',
        hostId: 'host-a',
        startedAt: at + 100,
        finishedAt: at + 110,
      },
      { attempt: 2, status: 'processing', workerId: 'w-2' },
    ]);
  });

  it('keeps a late first run that arrives after a later one', () => {
    const { jobs, attempts } = fold(event('completed', 2), event('completed', 1));
    expect(jobs).toMatchObject([{ status: 'completed', attempt: 2 }]);
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
      [2, 'completed'],
      [1, 'completed'],
    ]);
  });

  it('keeps a job that reuses an id apart from the earlier job of that id', () => {
    // Job 7 completed and was removed (removeOnComplete); a producer then added a new job 7.
    const later = at + 60_000;
    const { size, jobs, attempts } = fold(
      event('completed', 1),
      event('queued', 0, { queuedAt: later }),
      event('failed', 1, { queuedAt: later, startedAt: later + 100, finishedAt: later + 110, error: 'no' }),
      // A late event of the earlier job (the sweep finding it again) still lands on the earlier job.
      event('completed', 1),
    );
    expect(size).toBe(3);
    expect(jobs).toMatchObject([
      { jobId: '7', queuedAt: at, status: 'completed', attempt: 1 },
      { jobId: '7', queuedAt: later, status: 'failed', attempt: 1, exception: 'no' },
    ]);
    // Each job's attempts carry its timestamp: the earlier job's clean first run stays in its row.
    expect(attempts).toMatchObject([
      { attempt: 1, status: 'failed', jobTimestamp: later, errorMessage: 'no' },
    ]);
  });

  it('folds an event that lacks a timestamp into the newest job of its id, and dates one that had none', () => {
    const later = at + 60_000;
    const lacking = (kind: JobEvent['kind'], attempt: number) => {
      const e = event(kind, attempt);
      delete e.queuedAt;
      return e;
    };
    const reused = fold(event('completed', 1), event('queued', 0, { queuedAt: later }), lacking('active', 1));
    expect(reused.jobs.map((j) => [j.queuedAt, j.status])).toEqual([
      [at, 'completed'],
      [later, 'processing'],
    ]);
    expect(reused.attempts).toMatchObject([{ attempt: 1, status: 'processing', jobTimestamp: later }]);
    // Alone in the buffer it stays undated (the flush finds the newest job of its id in Postgres)...
    expect(fold(lacking('active', 1)).attempts).toMatchObject([{ attempt: 1, jobTimestamp: undefined }]);
    // ...until an event of the job that says when it was added.
    const dated = fold(lacking('active', 1), event('completed', 1));
    expect(dated.jobs).toMatchObject([{ queuedAt: at, status: 'completed' }]);
  });

  it('keeps jobs of different queues and connections apart', () => {
    const batch = new RecordBatch();
    batch.add(event('completed', 1), at);
    batch.add(event('completed', 1, { queue: 'other' }), at);
    batch.add(event('completed', 1, { connection: 'eu' }), at);
    // Names that would collide if joined into one key.
    batch.add(event('completed', 1, { connection: 'default\u0000mail', queue: 'x' }), at);
    batch.add(event('completed', 1, { queue: 'mail\u0000x' }), at);
    expect(batch.jobCount).toBe(5);
    expect(batch.take(2).map((c) => c.jobs.length)).toEqual([2, 2, 1]);
    expect(batch.size).toBe(0);
  });
});
