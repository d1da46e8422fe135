import type { ComponentChildren } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, type JobDetail as Job } from '../api/client';
import { Banner } from '../components/banner';
import { CopyButton } from '../components/copy-button';
import { JobActions } from '../components/job-actions';
import { JobTimeline } from '../components/job-timeline';
import { JsonSection } from '../components/json-section';
import { LongText } from '../components/long-text';
import { RelativeTime } from '../components/relative-time';
import { StatusBadge } from '../components/status-badge';
import { WorkerLink } from '../components/worker-link';
import { formatDuration } from '../lib/format';
import { runsText } from '../lib/job-timeline';
import { createPoller } from '../state/poller';
import './job-detail.css';

/** One job: what it was given, what it returned or threw, and each attempt; kept up to date. */
export function JobDetail() {
  const { params } = useRoute();
  const id = params.id ?? '';
  const poller = useMemo(() => createPoller<Job>(() => api.api.jobs[':id'].$get({ param: { id } })), [id]);
  useEffect(() => poller.start(), [poller]);
  const data = poller.data.value;
  const error = poller.error.value;
  return (
    <section aria-labelledby="job-title">
      <p>
        <a href="/jobs">← Jobs</a>
      </p>
      {error !== null && (
        <Banner tone={data ? 'warning' : 'error'}>
          <strong>{data ? 'Connection lost, retrying.' : `Cannot load job ${id}, retrying.`}</strong> {error}
        </Banner>
      )}
      {data === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <JobView job={data} onChanged={() => poller.refresh()} />
      )}
    </section>
  );
}

function JobView({ job, onChanged }: { job: Job; onChanged: () => void }) {
  const now = Date.now();
  return (
    <>
      <h1 id="job-title" class="cell-text">
        {job.name} <StatusBadge status={job.status} />
      </h1>
      <JobActions id={job.id} failed={job.status === 'failed'} onDone={onChanged} />
      <dl class="facts card">
        <Fact term="BullMQ id">
          {job.jobId} <CopyButton text={job.jobId} what="the BullMQ id" />
        </Fact>
        <Fact term="Queue">
          {job.queue} ({job.connection})
        </Fact>
        <Fact term="Runs (made of allowed)">{runsText(job.attempts, job.maxAttempts).long}</Fact>
        <Fact term="Last run by">
          <WorkerLink workerId={job.workerId} hostId={job.hostId} />
        </Fact>
        <Fact term="Queued">
          <RelativeTime at={job.queuedAt} now={now} />
        </Fact>
        <Fact term="Started">
          <RelativeTime at={job.startedAt} now={now} />
        </Fact>
        <Fact term="Finished">
          <RelativeTime at={job.completedAt} now={now} />
        </Fact>
        <Fact term="Waited">{formatDuration(job.waitMs)}</Fact>
        <Fact term="Ran">{formatDuration(job.runMs)}</Fact>
        <Fact term="Data size">{job.dataSize.toLocaleString()} bytes</Fact>
      </dl>
      <section class="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <JobTimeline job={job} now={now} />
      </section>
      {job.exception !== null && (
        <section class="card" aria-labelledby="exception-title">
          <div class="section-head">
            <h2 id="exception-title">Exception</h2>
            <CopyButton text={job.exception} what="the exception" />
          </div>
          <LongText text={job.exception} label="Exception" fileName={`job-${job.id}-exception.txt`} />
        </section>
      )}
      {/* Data and result may be several MB: each formats only its first screenful at once. */}
      <JsonSection
        id="payload-title"
        title="Data"
        value={job.payload}
        label="Job data"
        what="the data"
        fileName={`job-${job.id}-data.json`}
        note={
          job.payloadTruncated
            ? "The recorder kept only the start of this job's data (its payload cap)."
            : undefined
        }
        empty="No data."
      />
      <JsonSection
        id="result-title"
        title="Result"
        value={job.result}
        label="Result"
        what="the result"
        fileName={`job-${job.id}-result.json`}
      />
      <section class="card" aria-labelledby="attempts-title">
        <h2 id="attempts-title">Attempts</h2>
        {job.attemptHistory.length === 0 ? (
          <p class="empty">Not run yet.</p>
        ) : (
          <ol class="attempts">
            {job.attemptHistory.map((attempt) => (
              <li key={attempt.attempt}>
                <p>
                  Attempt {attempt.attempt}: <StatusBadge status={attempt.status} />{' '}
                  <RelativeTime at={attempt.startedAt} now={now} />, ran {formatDuration(attempt.runMs)}
                  {attempt.workerId !== null && (
                    <span class="cell-sub">
                      {' '}
                      by <WorkerLink workerId={attempt.workerId} hostId={attempt.hostId} />
                    </span>
                  )}
                </p>
                {attempt.errorStack !== null && (
                  <LongText
                    text={attempt.errorStack}
                    label={`Stack of attempt ${attempt.attempt}`}
                    fileName={`job-${job.id}-attempt-${attempt.attempt}-stack.txt`}
                  />
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

function Fact({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd class="cell-text">{children}</dd>
    </div>
  );
}
