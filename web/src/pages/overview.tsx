import { useEffect } from 'preact/hooks';
import { lazy } from 'preact-iso';
import type { JobStats, PollWorker, RecentJob } from '../api/client';
import { Banner } from '../components/banner';
import { HostsGlance } from '../components/hosts-glance';
import { OverviewQueues } from '../components/overview-queues';
import { RelativeTime } from '../components/relative-time';
import { StatCard } from '../components/stat-card';
import { TableScroll } from '../components/table-scroll';
import type { Certainty } from '../lib/format';
import { formatCount, formatDuration } from '../lib/format';
import { dashboardPoll } from '../state/poll';
import { hostsPoll, queuesPoll } from '../state/queues';
import '../components/stacked-table.css';
import './overview.css';

// uPlot and the charts load after the headline numbers, in their own chunk.
const OverviewMetrics = lazy(() => import('./overview-metrics').then((module) => module.OverviewMetrics));

function certaintyOf(stats: JobStats, key: string): Certainty {
  if ((stats.lower_bound as readonly string[]).includes(key)) return 'lower_bound';
  if ((stats.estimated as readonly string[]).includes(key)) return 'estimated';
  return 'exact';
}

/** The headline numbers, the queues, the hosts, the newest jobs and the workers, polled live. */
export function Overview() {
  useEffect(() => dashboardPoll.start(), []);
  useEffect(() => queuesPoll.start(), []);
  useEffect(() => hostsPoll.start(), []);
  const data = dashboardPoll.data.value;
  const error = dashboardPoll.error.value;
  const now = dashboardPoll.serverTime.value ?? Date.now();

  return (
    <section aria-labelledby="overview-title" aria-busy={data === undefined && error === null}>
      <h1 id="overview-title">Overview</h1>
      {error !== null && data !== undefined && (
        <Banner tone="warning">
          <strong>Connection lost, retrying.</strong> The figures below are from the last answer ({error}).
        </Banner>
      )}
      {error !== null && data === undefined && (
        <Banner tone="error">
          <strong>Cannot load the overview, retrying.</strong> {error}
        </Banner>
      )}
      {data === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <>
          <Stats stats={data.stats} />
          <OverviewQueues />
          <OverviewMetrics />
          <div class="panels">
            <HostsGlance workers={data.workers} activeWorkers={data.stats.active_workers} />
            <Workers workers={data.workers} now={now} />
            <RecentJobs jobs={data.recentJobs} now={now} />
          </div>
        </>
      )}
    </section>
  );
}

/** The cards, in order. A count the API marks as a lower bound or an estimate says so. */
const STAT_CARDS = [
  ['total_jobs', 'Total jobs'],
  ['pending', 'Pending'],
  ['processing', 'Processing'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
  ['completed_last_hour', 'Completed, last hour'],
  ['failed_last_hour', 'Failed, last hour'],
  ['active_workers', 'Active workers'],
  ['paused_workers', 'Paused workers'],
] as const satisfies readonly (readonly [keyof JobStats, string])[];

function Stats({ stats }: { stats: JobStats }) {
  return (
    <dl class="stats" aria-label="Job and worker counts">
      {STAT_CARDS.map(([stat, label]) => (
        <StatCard
          key={stat}
          stat={stat}
          label={label}
          value={stats[stat]}
          certainty={certaintyOf(stats, stat)}
        />
      ))}
    </dl>
  );
}

function RecentJobs({ jobs, now }: { jobs: RecentJob[]; now: number }) {
  return (
    <section class="card" aria-labelledby="recent-jobs-title">
      <h2 id="recent-jobs-title">Recent jobs</h2>
      {jobs.length === 0 ? (
        <p class="empty">No jobs yet. They appear here as soon as a worker-host records them.</p>
      ) : (
        <TableScroll label="Recent jobs">
          <table class="stacked-table stacked-narrow overview-table">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Queue</th>
                <th scope="col">Status</th>
                <th scope="col">Run time</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id}>
                  <td class="cell-text stack-title" data-label="Job">
                    <span class="cell-main">{job.name}</span>
                    <span class="cell-sub">#{job.jobId}</span>
                  </td>
                  <td class="cell-text" data-label="Queue">
                    {job.queue}
                  </td>
                  <td class="stack-aside" data-label="Status">
                    <span class={`status status-${job.status}`}>{job.status}</span>
                  </td>
                  <td class="numeric" data-label="Run time">
                    {formatDuration(job.runMs)}
                  </td>
                  <td data-label="Queued">
                    <RelativeTime at={job.queuedAt} now={now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}

function Workers({ workers, now }: { workers: PollWorker[]; now: number }) {
  return (
    <section class="card" aria-labelledby="workers-title">
      <h2 id="workers-title">Worker processes</h2>
      {workers.length === 0 ? (
        <p class="empty">No worker process is running. Start a worker-host: `watchtower supervisor`.</p>
      ) : (
        <TableScroll label="Worker processes">
          <table class="stacked-table stacked-narrow overview-table">
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Queue</th>
                <th scope="col">Status</th>
                <th scope="col">Processed</th>
                <th scope="col">Heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((worker) => (
                <tr key={`${worker.hostId}/${worker.workerId}`}>
                  <td class="cell-text stack-title" data-label="Worker">
                    <span class="cell-main">{worker.workerId}</span>
                    <span class="cell-sub">{worker.hostname ?? worker.hostId}</span>
                  </td>
                  <td class="cell-text" data-label="Queue">
                    {worker.queue}
                  </td>
                  <td class="stack-aside" data-label="Status">
                    <span class={`status status-${worker.status}`}>{worker.status}</span>
                    {worker.pending && <span class="cell-sub"> {worker.pending.label}…</span>}
                  </td>
                  <td class="numeric" data-label="Processed">
                    {formatCount(worker.jobsProcessed)}
                    {worker.jobsFailed > 0 && (
                      <span class="cell-sub"> ({formatCount(worker.jobsFailed)} failed)</span>
                    )}
                  </td>
                  <td data-label="Heartbeat">
                    <RelativeTime at={worker.lastHeartbeat} now={now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
