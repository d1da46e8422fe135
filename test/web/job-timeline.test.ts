import { describe, expect, it } from 'vitest';
import { runsText, type TimelineJob, timelineSteps } from '../../web/src/lib/job-timeline';

// The Job page's timeline (web/src/lib/job-timeline.ts), from a job row and its attempts as the API answers them.
const at = (seconds: number) => new Date(Date.parse('2026-01-01T12:00:00Z') + seconds * 1000).toISOString();

function job(fields: Partial<TimelineJob>): TimelineJob {
  return {
    status: 'completed',
    attempts: 1,
    maxAttempts: 1,
    workerId: 'w2',
    hostId: 'h2',
    exception: null,
    queuedAt: at(0),
    startedAt: null,
    completedAt: null,
    waitMs: null,
    runMs: null,
    attemptHistory: [],
    ...fields,
  };
}

const failed = {
  attempt: 1,
  status: 'failed' as const,
  workerId: 'w1',
  hostId: 'h1',
  startedAt: at(2),
  finishedAt: at(3),
  runMs: 1000,
  errorMessage: 'boom',
};

describe('the job timeline', () => {
  it('reads a job retried by hand past its one allowed run: failed, retried by hand, started, completed', () => {
    const retried = job({
      attempts: 2,
      maxAttempts: 1,
      waitMs: 2000,
      attemptHistory: [
        failed,
        {
          ...failed,
          attempt: 2,
          status: 'completed',
          workerId: 'w2',
          hostId: 'h2',
          startedAt: at(63),
          finishedAt: at(64),
          errorMessage: null,
        },
      ],
    });
    const steps = timelineSteps(retried);
    expect(steps.map((step) => step.kind)).toEqual([
      'queued',
      'started',
      'failed',
      'retried',
      'started',
      'completed',
    ]);
    expect(steps[1]).toMatchObject({ waitedMs: 2000, place: { workerId: 'w1', hostId: 'h1' } });
    expect(steps[2]).toMatchObject({ ranMs: 1000, message: 'boom' });
    // When the hand retry happened is not recorded; the delay to the next run is.
    expect(steps[3]).toMatchObject({ at: null, byHand: true, delayMs: 60_000 });
    expect(steps[4]).toMatchObject({ place: { workerId: 'w2', hostId: 'h2' }, waitedMs: null });
    expect(runsText(2, 1)).toEqual({
      short: '2 (1 + 1 by hand)',
      long: '2: 1 allowed, 1 more retried by hand',
    });
    expect(runsText(2, 2).long).toBe('2 of 2 allowed');
  });

  it('shows a job waiting for its next run, and a job running now from its row alone', () => {
    const waiting = timelineSteps(
      job({ status: 'retrying', attempts: 1, maxAttempts: 3, attemptHistory: [failed] }),
    );
    expect(waiting.at(-1)).toMatchObject({ kind: 'retried', attempt: 2, byHand: false, delayMs: null });
    const running = timelineSteps(job({ status: 'processing', startedAt: at(1), attempts: 1 }));
    expect(running.map((step) => step.kind)).toEqual(['queued', 'started', 'running']);
    expect(running[1]).toMatchObject({ waitedMs: 1000, place: { workerId: 'w2', hostId: 'h2' } });
  });
});
