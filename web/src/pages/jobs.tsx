import { useEffect, useMemo, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { JobList } from '../api/client';
import { Banner } from '../components/banner';
import { SharedFilterFields } from '../components/filter-fields';
import { RelativeTime } from '../components/relative-time';
import { StatusBadge } from '../components/status-badge';
import { TableScroll } from '../components/table-scroll';
import { formatCount, formatDuration } from '../lib/format';
import { filtersUrl, fromLocalInput, JOB_STATUSES, type JobFilters, readFilters } from '../lib/job-filters';
import { runsText } from '../lib/job-timeline';
import { createLiveJobs, type LiveJobs } from '../state/live-jobs';
import '../components/stacked-table.css';
import './jobs.css';

/** The job list: filters and search in the URL, newest or oldest first, paged by cursor, kept current. */
export function Jobs() {
  const location = useLocation();
  const filters = readFilters(location.query);
  const key = filtersUrl(filters);
  // Only the first page, newest first, has new jobs to announce: they arrive on top of it.
  const announce = filters.cursor === undefined && filters.sort !== 'oldest';
  const live = useMemo(() => createLiveJobs(filters, announce), [key]);
  useEffect(() => live.start(), [live]);

  const go = (next: JobFilters) => location.route(filtersUrl(next));
  const list = live.shown.value;
  const error = live.poller.error.value;

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <FilterForm key={key} filters={filters} onApply={go} />
      {error !== null && (
        <Banner tone={list ? 'warning' : 'error'}>
          <strong>{list ? 'Connection lost, retrying.' : 'Cannot load the jobs, retrying.'}</strong> {error}
        </Banner>
      )}
      {list === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {announce && <NewJobsNotice live={live} />}
          {list.jobs.length === 0 ? (
            <p class="empty">No job matches these filters.</p>
          ) : (
            <JobTable jobs={list.jobs} />
          )}
          <nav class="pager" aria-label="Pages of jobs">
            {filters.cursor && (
              <a href={filtersUrl({ ...filters, cursor: undefined })} class="button">
                ← First page
              </a>
            )}
            {list.nextCursor && (
              <a href={filtersUrl({ ...filters, cursor: list.nextCursor })} class="button" rel="next">
                Next page →
              </a>
            )}
          </nav>
        </div>
      )}
    </section>
  );
}

/**
 * "12 new jobs — Show", in a polite live region that is always there (a region added together
 * with its text is not announced). Show brings them in on top and moves focus to the newest.
 */
function NewJobsNotice({ live }: { live: LiveJobs }) {
  const { count, atLeast } = live.newJobs.value;
  const region = useRef<HTMLDivElement>(null);
  function show() {
    live.showNew();
    // After the rows are drawn: focus would otherwise fall to the page as the button goes.
    requestAnimationFrame(() => {
      const first = region.current?.parentElement?.querySelector<HTMLElement>('tbody a');
      first?.focus();
    });
  }
  return (
    <div ref={region} class="new-jobs" role="status" aria-live="polite">
      {count > 0 && (
        <p class="new-jobs-notice">
          <span>
            {formatCount(count, atLeast ? 'lower_bound' : 'exact')} new{' '}
            {count === 1 && !atLeast ? 'job' : 'jobs'}
          </span>
          <button type="button" class="button-primary" onClick={show}>
            Show
          </button>
        </p>
      )}
    </div>
  );
}

const SEARCH_HINT =
  'Finds jobs whose id, name, exception or the start of their data contain every word, in any order ' +
  '(at least 3 characters in all). Punctuation keeps parts together: user42@example.com, card_declined. ' +
  'End a word with * to match the start of a longer one: ord_4c*.';

function FilterForm({ filters, onApply }: { filters: JobFilters; onApply: (filters: JobFilters) => void }) {
  function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    // A new filter starts from the first page.
    onApply({
      q: text('q'),
      status: JOB_STATUSES.find((status) => status === text('status')),
      queue: text('queue'),
      connection: text('connection'),
      name: text('name'),
      from: fromLocalInput(String(form.get('from') ?? '')),
      to: fromLocalInput(String(form.get('to') ?? '')),
      sort: text('sort') === 'oldest' ? 'oldest' : undefined,
      limit: filters.limit,
    });
  }
  return (
    <form class="filters card" onSubmit={submit} aria-label="Filter jobs">
      <label class="filter-search">
        Search
        <input
          name="q"
          type="search"
          defaultValue={filters.q ?? ''}
          aria-describedby="search-hint"
          placeholder="order 4711, card_declined, user42@example.com"
        />
      </label>
      <p id="search-hint" class="hint">
        {SEARCH_HINT}
      </p>
      <label>
        Status
        {/* `selected` on the options: Preact ignores `defaultValue` on a select, which then showed
            "any" over a status filter read from the URL, and Apply dropped the filter. */}
        <select name="status">
          <option value="" selected={!filters.status}>
            any
          </option>
          {JOB_STATUSES.map((status) => (
            <option key={status} value={status} selected={filters.status === status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <SharedFilterFields
        values={filters}
        range={{
          from: { name: 'from', label: 'Queued from', value: filters.from },
          to: { name: 'to', label: 'Queued before', value: filters.to },
        }}
        clearHref="/jobs"
      />
    </form>
  );
}

function JobTable({ jobs }: { jobs: JobList['jobs'] }) {
  const now = Date.now();
  return (
    <TableScroll label="Jobs">
      <table class="stacked-table stacked-narrow">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Queue</th>
            <th scope="col">Status</th>
            <th scope="col">
              <abbr title="Runs made of runs allowed">Runs</abbr>
            </th>
            <th scope="col">Run time</th>
            <th scope="col">Queued</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
              <td class="cell-text stack-title" data-label="Job">
                <a class="cell-main" href={`/jobs/${job.id}`}>
                  {job.name}
                </a>
                <span class="cell-sub">#{job.jobId}</span>
                {job.exception !== null && <span class="cell-sub cell-exception">{job.exception}</span>}
              </td>
              <td class="cell-text" data-label="Queue">
                {job.queue}
                <span class="cell-sub"> ({job.connection})</span>
              </td>
              <td class="stack-aside" data-label="Status">
                <StatusBadge status={job.status} />
              </td>
              <td class="numeric" data-label="Runs" title={runsText(job.attempts, job.maxAttempts).long}>
                {runsText(job.attempts, job.maxAttempts).short}
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
  );
}
