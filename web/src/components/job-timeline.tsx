import type { JobDetail } from '../api/client';
import { formatDuration } from '../lib/format';
import { type TimelineStep, timelineSteps } from '../lib/job-timeline';
import { RelativeTime } from './relative-time';
import { WorkerLink } from './worker-link';

const TITLES: Record<TimelineStep['kind'], string> = {
  queued: 'Queued',
  started: 'Started',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  stalled: 'Stalled',
  retried: 'Retried',
};

/**
 * The job's life as an ordered list: queued, each run's start and end, the retries between them,
 * each step with its time (relative, absolute on hover) and the duration that led to it.
 */
export function JobTimeline({ job, now }: { job: JobDetail; now: number }) {
  const steps = timelineSteps(job);
  return (
    <ol class="timeline" aria-label="Timeline">
      {steps.map((step, index) => (
        <li
          key={`${step.kind}-${'attempt' in step ? step.attempt : 0}-${index}`}
          class={`step step-${step.kind}`}
        >
          <div class="step-head">
            <span class="step-title">{TITLES[step.kind]}</span>
            {'attempt' in step && <span class="step-attempt">run {step.attempt}</span>}
            <span class="step-time">{'at' in step ? <StepTime at={step.at} now={now} /> : null}</span>
          </div>
          <StepBody step={step} />
        </li>
      ))}
    </ol>
  );
}

function StepTime({ at, now }: { at: string | null; now: number }) {
  return at === null ? <span class="cell-sub">time not recorded</span> : <RelativeTime at={at} now={now} />;
}

function StepBody({ step }: { step: TimelineStep }) {
  switch (step.kind) {
    case 'queued':
      return null;
    case 'started':
      return (
        <p class="step-detail">
          {step.waitedMs !== null && (
            <span class="step-duration">waited {formatDuration(step.waitedMs)}</span>
          )}
          <WorkerLink workerId={step.place.workerId} hostId={step.place.hostId} />
        </p>
      );
    case 'running':
      return <p class="step-detail">still running</p>;
    case 'retried':
      return (
        <p class="step-detail">
          <span>{step.byHand ? 'retried by hand, past the runs allowed' : 'put back to run again'}</span>
          <span class="step-duration">
            {step.delayMs === null
              ? 'waiting for its next run'
              : `started ${formatDuration(step.delayMs)} after the run before ended`}
          </span>
        </p>
      );
    default:
      return (
        <>
          <p class="step-detail">
            {step.ranMs !== null && <span class="step-duration">ran {formatDuration(step.ranMs)}</span>}
          </p>
          {step.message !== null && <p class="step-message">{step.message}</p>}
        </>
      );
  }
}
