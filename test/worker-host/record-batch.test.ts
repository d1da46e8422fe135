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
