import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, errorMessage, type JobList } from '../api/client';
import { Banner } from '../components/banner';
import { RelativeTime } from '../components/relative-time';
import { StatusBadge } from '../components/status-badge';
import { TableScroll } from '../components/table-scroll';
import { formatDuration } from '../lib/format';
import {
  filtersUrl,
  fromLocalInput,
  JOB_STATUSES,
  type JobFilters,
  readFilters,
  toLocalInput,
} from '../lib/job-filters';

/** The job list: filters and search in the URL, newest or oldest first, paged by cursor. */
export function Jobs() {
  const location = useLocation();
  const filters = readFilters(location.query);
  const key = filtersUrl(filters);
  const page = useSignal<JobList | undefined>(undefined);
  const error = useSignal<string | null>(null);
  const loading = useSignal(true);

  useEffect(() => {
    let current = true;
    loading.value = true;
    api.api.jobs
      .$get({ query: filters })
      .then(async (response) => {
        if (!current) return;
        if (response.ok) {
          page.value = await response.json();
          error.value = null;
        } else {
          error.value = await errorMessage(response);
        }
      })
      .catch(() => {
        if (current) error.value = 'The server cannot be reached';
      })
      .finally(() => {
        if (current) loading.value = false;
      });
    return () => {
      current = false;
    };
  }, [key]);

  const go = (next: JobFilters) => location.route(filtersUrl(next));
  const list = page.value;

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <FilterForm key={key} filters={filters} onApply={go} />
      {error.value !== null && (
        <Banner tone="error">
          <strong>Cannot load the jobs.</strong> {error.value}
        </Banner>
      )}
      {list === undefined ? (
        loading.value && <p class="loading">Loading…</p>
      ) : (
        <div class="card" aria-busy={loading.value}>
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
        <select name="status" defaultValue={filters.status ?? ''}>
          <option value="">any</option>
          {JOB_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <label>
        Queue
        <input name="queue" defaultValue={filters.queue ?? ''} />
      </label>
      <label>
        Connection
        <input name="connection" defaultValue={filters.connection ?? ''} />
      </label>
      <label>
        Name
        <input name="name" defaultValue={filters.name ?? ''} />
      </label>
      <label>
        Queued from
        <input name="from" type="datetime-local" defaultValue={toLocalInput(filters.from)} />
      </label>
      <label>
        Queued before
        <input name="to" type="datetime-local" defaultValue={toLocalInput(filters.to)} />
      </label>
      <label>
        Order
        <select name="sort" defaultValue={filters.sort ?? 'newest'}>
          <option value="newest">newest first</option>
          <option value="oldest">oldest first</option>
        </select>
      </label>
      <div class="filter-actions">
        <button type="submit" class="button-primary">
          Apply
        </button>
        <a href="/jobs" class="button">
          Clear
        </a>
      </div>
    </form>
  );
}

function JobTable({ jobs }: { jobs: JobList['jobs'] }) {
  const now = Date.now();
  return (
    <TableScroll label="Jobs">
      <table>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Queue</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Run time</th>
            <th scope="col">Queued</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
              <td class="cell-text">
                <a class="cell-main" href={`/jobs/${job.id}`}>
                  {job.name}
                </a>
                <span class="cell-sub">#{job.jobId}</span>
                {job.exception !== null && <span class="cell-sub cell-exception">{job.exception}</span>}
              </td>
              <td class="cell-text">
                {job.queue}
                <span class="cell-sub"> ({job.connection})</span>
              </td>
              <td>
                <StatusBadge status={job.status} />
              </td>
              <td class="numeric">
                {job.attempts} / {job.maxAttempts}
              </td>
              <td class="numeric">{formatDuration(job.runMs)}</td>
              <td>
                <RelativeTime at={job.queuedAt} now={now} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
