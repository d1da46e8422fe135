import { deleteJobBatch, finishedBefore } from '../../core/db/prune-jobs';
import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { type HousekeepingStep, inBatches } from './step';

/**
 * Job retention: completed (and deleted) jobs after WATCHTOWER_RETENTION_COMPLETED_DAYS, failed
 * jobs after WATCHTOWER_RETENTION_FAILED_DAYS, each with its attempts, by completion time. The same
 * conditions as `watchtower prune` (core/db/prune-jobs.ts), walked oldest first along
 * watchtower_jobs_completed_at.
 */

function jobRetentionStep(
  name: string,
  variable: 'WATCHTOWER_RETENTION_COMPLETED_DAYS' | 'WATCHTOWER_RETENTION_FAILED_DAYS',
  fallback: number,
  statuses: readonly string[],
): HousekeepingStep {
  return {
    name,
    async run({ db, env }) {
      const days = retentionDays(env, variable, fallback);
      if (days === 0) return 'kept (retention 0)';
      const bounds = pruneBounds(env);
      let attempts = 0;
      const jobs = await inBatches(bounds, async () => {
        const deleted = await deleteJobBatch(db, finishedBefore(statuses, days), bounds.batchSize, {
          oldestFirst: true,
        });
        attempts += deleted.attempts;
        return deleted.jobs;
      });
      return `${jobs} older than ${days} d (${attempts} attempts)`;
    },
  };
}

export const pruneCompletedJobs = jobRetentionStep(
  'completed jobs',
  'WATCHTOWER_RETENTION_COMPLETED_DAYS',
  HOUSEKEEPING_DEFAULTS.completedDays,
  ['completed', 'deleted'],
);

export const pruneFailedJobs = jobRetentionStep(
  'failed jobs',
  'WATCHTOWER_RETENTION_FAILED_DAYS',
  HOUSEKEEPING_DEFAULTS.failedDays,
  ['failed'],
);
