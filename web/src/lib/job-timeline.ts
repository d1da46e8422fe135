/**
 * What the timeline reads of the API's job detail (GET /api/jobs/{id}). Spelt out rather than taken
 * from api/client.ts so this module (and its unit test) stays free of the browser-only client.
 */
export interface TimelineAttempt {
  attempt: number;
  status: 'processing' | 'completed' | 'failed' | 'stalled';
  workerId: string | null;
  hostId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  runMs: number | null;
  errorMessage: string | null;
}

export interface TimelineJob {
  status: string;
  attempts: number;
  maxAttempts: number;
  workerId: string | null;
  hostId: string | null;
  exception: string | null;
  queuedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  waitMs: number | null;
  runMs: number | null;
  attemptHistory: readonly TimelineAttempt[];
}

type Attempt = TimelineAttempt;
type JobDetail = TimelineJob;

/** Where a run happened: the worker process and its host, as far as they were recorded. */
export interface RunPlace {
  workerId: string | null;
  hostId: string | null;
}

/**
 * One step of a job's life, oldest first. Each carries its time (null when it was not recorded)
 * and the duration that led to it, so the timeline reads "waited 2 s, ran 120 ms, retried 1 s later".
 */
export type TimelineStep =
  | { kind: 'queued'; at: string }
  | { kind: 'started'; at: string | null; attempt: number; place: RunPlace; waitedMs: number | null }
  | {
      kind: 'completed' | 'failed' | 'stalled';
      at: string | null;
      attempt: number;
      place: RunPlace;
      ranMs: number | null;
      message: string | null;
    }
  | { kind: 'running'; attempt: number }
  | {
      kind: 'retried';
      /** When the job was put back: the end of the run before it, for a retry BullMQ made itself. */
      at: string | null;
      /** The run it was put back for. */
      attempt: number;
      /** Past the runs allowed: someone retried it (the Retry action, or their own code). */
      byHand: boolean;
      /** From the end of the run before to the start of this one; null while it waits. */
      delayMs: number | null;
    };

/** `b - a` in ms, or null when either is unknown. */
function between(a: string | null, b: string | null): number | null {
  if (a === null || b === null) return null;
  const ms = Date.parse(b) - Date.parse(a);
  return Number.isNaN(ms) ? null : Math.max(0, ms);
}

/**
 * The runs of a job. The API answers the attempts it recorded (a clean first run included); a job
 * recorded only by its row (running now, or an older recorder) has its one run in the row.
 */
function runsOf(job: JobDetail): readonly Attempt[] {
  if (job.attemptHistory.length > 0 || job.startedAt === null) return job.attemptHistory;
  const ended = job.status === 'completed' || job.status === 'failed';
  return [
    {
      attempt: Math.max(1, job.attempts),
      status: job.status === 'completed' ? 'completed' : job.status === 'failed' ? 'failed' : 'processing',
      workerId: job.workerId,
      hostId: job.hostId,
      startedAt: job.startedAt,
      finishedAt: ended ? job.completedAt : null,
      runMs: ended ? job.runMs : null,
      errorMessage: job.status === 'failed' ? job.exception : null,
    },
  ];
}

/** The job still waits to run again after its last run ended without success. */
function waitsForAnotherRun(job: JobDetail): boolean {
  return job.status === 'retrying' || job.status === 'queued' || job.status === 'delayed';
}

/**
 * The job's life from its row and its attempts, as the API answers them: queued, then per run its
 * start and end, with "retried" between a run that failed (or stalled) and the next.
 */
export function timelineSteps(job: JobDetail): TimelineStep[] {
  const steps: TimelineStep[] = [{ kind: 'queued', at: job.queuedAt }];
  const runs = runsOf(job);
  let previousEnd: string | null = null;
  runs.forEach((run, index) => {
    const place = { workerId: run.workerId, hostId: run.hostId };
    if (index > 0) {
      steps.push({
        kind: 'retried',
        at: run.attempt > job.maxAttempts ? null : previousEnd,
        attempt: run.attempt,
        byHand: run.attempt > job.maxAttempts,
        delayMs: between(previousEnd, run.startedAt),
      });
    }
    if (run.startedAt !== null) {
      steps.push({
        kind: 'started',
        at: run.startedAt,
        attempt: run.attempt,
        place,
        waitedMs: index === 0 ? (job.waitMs ?? between(job.queuedAt, run.startedAt)) : null,
      });
    }
    if (run.status === 'processing') {
      steps.push({ kind: 'running', attempt: run.attempt });
    } else {
      steps.push({
        kind: run.status,
        at: run.finishedAt,
        attempt: run.attempt,
        place,
        ranMs: run.runMs ?? between(run.startedAt, run.finishedAt),
        message: run.status === 'completed' ? null : run.errorMessage,
      });
    }
    previousEnd = run.finishedAt;
  });
  const last = runs.at(-1);
  if (
    last !== undefined &&
    last.status !== 'processing' &&
    last.status !== 'completed' &&
    waitsForAnotherRun(job)
  ) {
    const next = last.attempt + 1;
    steps.push({ kind: 'retried', at: null, attempt: next, byHand: next > job.maxAttempts, delayMs: null });
  }
  return steps;
}

/**
 * What "attempts" means on screen: runs made of runs allowed. BullMQ keeps counting runs when a job
 * is retried by hand, past the runs it allowed: that reads "2 runs: 1 allowed, 1 more retried by
 * hand" rather than a contradictory "2 / 1".
 */
export function runsText(attempts: number, maxAttempts: number): { short: string; long: string } {
  const allowed = Math.max(1, maxAttempts);
  if (attempts <= allowed) {
    return { short: `${attempts} of ${allowed}`, long: `${attempts} of ${allowed} allowed` };
  }
  const extra = attempts - allowed;
  return {
    short: `${attempts} (${allowed} + ${extra} by hand)`,
    long: `${attempts}: ${allowed} allowed, ${extra} more retried by hand`,
  };
}
