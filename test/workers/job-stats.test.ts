import { describe, expect, it } from 'vitest';
import { COUNT_CAP, type StatsRow, toJobStats } from '../../functions/queries/job-stats';

/** A stats row as the statement returns it: counts stop one past the cap. */
function row(overrides: Partial<StatsRow>): StatsRow {
  return {
    total: 0,
    queued: 0,
    delayed: 0,
    retrying: 0,
    processing: 0,
    completed: 0,
    failed: 0,
    reltuples: -1,
    vals: null,
    freqs: null,
    completed_last_hour: 0,
    failed_last_hour: 0,
    active_workers: 0,
    paused_workers: 0,
    ...overrides,
  };
}

describe('the headline counts', () => {
  it('are exact under the cap', () => {
    const stats = toJobStats(row({ total: 12, queued: 2, delayed: 1, completed: 7, failed: 2 }));
    expect(stats).toMatchObject({ total_jobs: 12, pending: 3, completed: 7, failed: 2 });
    expect(stats.estimated).toEqual([]);
    expect(stats.lower_bound).toEqual([]);
  });

  it("are lower bounds at the cap, never the walk's cap + 1, on a fresh install without statistics", () => {
    // A fresh install: 1,875 completed in the last hour, no ANALYZE yet (reltuples -1).
    const over = COUNT_CAP + 1;
    const stats = toJobStats(
      row({ total: over, completed: over, queued: over, delayed: 4, failed: 3, completed_last_hour: 1875 }),
    );
    expect(stats.completed).toBe(COUNT_CAP);
    expect(stats.pending).toBe(COUNT_CAP + 4);
    expect(stats.failed).toBe(3);
    expect(stats.lower_bound).toEqual(['completed', 'pending', 'total_jobs']);
    expect(stats.estimated).toEqual([]);
    // The total is at least its parts, and says it is a lower bound.
    expect(stats.total_jobs).toBe(COUNT_CAP + COUNT_CAP + 4 + 3);
  });

  it("are the planner's estimate past the cap when it knows more than was counted", () => {
    const over = COUNT_CAP + 1;
    const stats = toJobStats(
      row({
        total: over,
        completed: over,
        failed: 10,
        reltuples: 1_200_000,
        vals: ['completed', 'failed'],
        freqs: [0.99, 0.01],
      }),
    );
    expect(stats.completed).toBe(1_188_000);
    expect(stats.total_jobs).toBe(1_200_000);
    expect(stats.estimated).toEqual(['completed', 'total_jobs']);
    expect(stats.lower_bound).toEqual([]);
  });
});
