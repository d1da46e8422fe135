import { useComputed, useSignal } from '@preact/signals';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client';
import type { FailedCount, FailedJob, FailedList } from '../api/failed';
import { Banner } from '../components/banner';
import { ConfirmDialog } from '../components/confirm-dialog';
import { FailedBulk } from '../components/failed-bulk';
import { FailedTable } from '../components/failed-table';
import { SharedFilterFields } from '../components/filter-fields';
import { type SentCommand, SentCommands } from '../components/sent-commands';
import { bulkFilter, type FailedFilters, failedUrl, readFailedFilters } from '../lib/failed-filters';
import { formatCount } from '../lib/format';
import { inBatches, type JobAction, runJobCommand } from '../lib/job-command';
import { fromLocalInput } from '../lib/job-filters';
import { createPoller } from '../state/poller';
import { canOperate } from '../state/roles';
import './failed.css';

/** Commands in flight at once when a selection is retried or deleted (one command per job). */
const SEND_WIDTH = 4;

let sendCount = 0;

/**
 * Failed jobs: filters and search in the URL (the names GET /api/failed takes), paged by cursor,
 * polled live. Operators retry or delete one job, a selection (one command per job, each pending
 * until its host answers), or every job matching the filter (a bulk command with its progress).
 */
export function Failed() {
  const location = useLocation();
  const filters = readFailedFilters(location.query);
  const key = failedUrl(filters);
  const poller = useMemo(
    () => createPoller<FailedList>((headers) => api.api.failed.$get({ query: filters }, { headers })),
    [key],
  );
  useEffect(() => poller.start(), [poller]);
  const operate = canOperate.value;
  // What a bulk command would touch: polled beside the list, for operators only (viewers have no
  // bulk actions), and refreshed with it after every command so the two never disagree for long.
  const countFilter = bulkFilter(filters);
  const counter = useMemo(
    () =>
      createPoller<FailedCount>((headers) => api.api.failed.count.$get({ query: countFilter }, { headers })),
    [JSON.stringify(countFilter)],
  );
  useEffect(() => (operate ? counter.start() : undefined), [counter, operate]);
  const selected = useSignal<ReadonlySet<number>>(new Set());
  const sent = useSignal<readonly SentCommand[]>([]);
  const confirmDelete = useSignal<FailedJob[] | null>(null);
  const pending = useComputed(
    () => new Set(sent.value.filter((item) => item.outcome.tone === 'pending').map((item) => item.jobRowId)),
  );
  // Following commands stops with the page (the commands themselves go on).
  const leaving = useRef(new AbortController());
  useEffect(() => () => leaving.current.abort(), []);
  // A new filter or page starts with nothing selected.
  useEffect(() => {
    selected.value = new Set();
  }, [key]);

  const data = poller.data.value;
  const error = poller.error.value;
  const now = poller.serverTime.value ?? Date.now();
  // Only rows on screen count as selected: a job that left the list is no longer there to act on.
  const chosen = (data?.jobs ?? []).filter((job) => selected.value.has(job.id) && !pending.value.has(job.id));

  function update(sendKey: number, outcome: SentCommand['outcome']) {
    sent.value = sent.value.map((item) => (item.key === sendKey ? { ...item, outcome } : item));
  }

  function send(action: JobAction, jobs: FailedJob[]) {
    const items: SentCommand[] = jobs.map((job) => ({
      key: ++sendCount,
      jobRowId: job.id,
      label: `${job.name} #${job.jobId}`,
      action,
      outcome: { tone: 'pending', text: 'Pending: sending…' },
    }));
    sent.value = [...[...items].reverse(), ...sent.value];
    const sentIds = new Set(jobs.map((job) => job.id));
    selected.value = new Set([...selected.value].filter((id) => !sentIds.has(id)));
    const signal = leaving.current.signal;
    void inBatches(items, SEND_WIDTH, async (item) => {
      const final = await runJobCommand(action, item.jobRowId, signal, (outcome) =>
        update(item.key, outcome),
      );
      update(item.key, final);
      poller.refresh();
      counter.refresh();
    });
  }

  function act(action: JobAction, jobs: FailedJob[]) {
    if (action === 'delete') confirmDelete.value = jobs;
    else send('retry', jobs);
  }

  const toDelete = confirmDelete.value ?? [];
  return (
    <section aria-labelledby="failed-title">
      <h1 id="failed-title">Failed jobs</h1>
      <FilterForm key={key} filters={filters} onApply={(next) => location.route(failedUrl(next))} />
      {error !== null && (
        <Banner tone={data ? 'warning' : 'error'}>
          <strong>{data ? 'Connection lost, retrying.' : 'Cannot load the failed jobs, retrying.'}</strong>{' '}
          {data ? `The list below is from the last answer (${error}).` : error}
        </Banner>
      )}
      {operate && <FailedBulk filters={filters} counter={counter} onFinished={() => poller.refresh()} />}
      <SentCommands sent={sent.value} onClear={() => (sent.value = [])} />
      {data === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {operate && data.jobs.length > 0 && (
            <SelectionBar
              count={chosen.length}
              onRetry={() => act('retry', chosen)}
              onDelete={() => act('delete', chosen)}
              onClear={() => (selected.value = new Set())}
            />
          )}
          {data.jobs.length === 0 ? (
            <p class="empty">
              {filters.cursor ? 'No more failed jobs on this page.' : 'No failed job matches these filters.'}
            </p>
          ) : (
            <FailedTable
              jobs={data.jobs}
              now={now}
              operate={operate}
              selected={selected.value}
              pending={pending.value}
              onSelect={(ids, on) => {
                const next = new Set(selected.value);
                for (const id of ids) on ? next.add(id) : next.delete(id);
                selected.value = next;
              }}
              onAction={(action, job) => act(action, [job])}
            />
          )}
          <nav class="pager" aria-label="Pages of failed jobs">
            {filters.cursor && (
              <a href={failedUrl({ ...filters, cursor: undefined })} class="button">
                ← First page
              </a>
            )}
            {data.nextCursor && (
              <a href={failedUrl({ ...filters, cursor: data.nextCursor })} class="button" rel="next">
                Next page →
              </a>
            )}
          </nav>
        </div>
      )}
      <ConfirmDialog
        open={confirmDelete.value !== null}
        title={
          toDelete.length === 1
            ? `Delete ${toDelete[0]?.name} #${toDelete[0]?.jobId}?`
            : `Delete ${formatCount(toDelete.length)} selected jobs?`
        }
        confirmLabel={toDelete.length === 1 ? 'Delete' : `Delete ${formatCount(toDelete.length)} jobs`}
        danger
        onConfirm={() => send('delete', toDelete)}
        onClose={() => {
          confirmDelete.value = null;
        }}
      >
        <p>
          {toDelete.length === 1 ? 'It is' : 'They are'} removed from{' '}
          {toDelete.length === 1 ? 'its queue' : 'their queues'} (one command per job); the history here
          stays.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function SelectionBar({
  count,
  onRetry,
  onDelete,
  onClear,
}: {
  count: number;
  onRetry: () => void;
  onDelete: () => void;
  onClear: () => void;
}) {
  return (
    <div class="selection-bar">
      <span aria-live="polite">
        {count === 0 ? 'Select jobs to act on them' : `${formatCount(count)} selected`}
      </span>
      <button type="button" class="button-primary" disabled={count === 0} onClick={onRetry}>
        Retry selected
      </button>
      <button type="button" disabled={count === 0} onClick={onDelete}>
        Delete selected…
      </button>
      {count > 0 && (
        <button type="button" class="button-quiet" onClick={onClear}>
          Clear selection
        </button>
      )}
    </div>
  );
}

const SEARCH_HINT =
  'Finds failed jobs whose id, name, exception or the start of their data contain every word, in any ' +
  'order (at least 3 characters in all). Punctuation keeps parts together: card_declined, ' +
  'ECONNREFUSED. End a word with * to match the start of a longer one: timeout*.';

function FilterForm({
  filters,
  onApply,
}: {
  filters: FailedFilters;
  onApply: (filters: FailedFilters) => void;
}) {
  function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    // A new filter starts from the first page.
    onApply({
      search: text('search'),
      queue: text('queue'),
      connection: text('connection'),
      name: text('name'),
      failedAfter: fromLocalInput(String(form.get('failedAfter') ?? '')),
      failedBefore: fromLocalInput(String(form.get('failedBefore') ?? '')),
      sort: text('sort') === 'oldest' ? 'oldest' : undefined,
      limit: filters.limit,
    });
  }
  return (
    <form class="filters card" onSubmit={submit} aria-label="Filter failed jobs">
      <label class="filter-search">
        Search
        <input
          name="search"
          type="search"
          defaultValue={filters.search ?? ''}
          aria-describedby="failed-search-hint"
          placeholder="card_declined, ECONNREFUSED, order 4711"
        />
      </label>
      <p id="failed-search-hint" class="hint">
        {SEARCH_HINT}
      </p>
      <SharedFilterFields
        values={filters}
        range={{
          from: { name: 'failedAfter', label: 'Failed from', value: filters.failedAfter },
          to: { name: 'failedBefore', label: 'Failed before', value: filters.failedBefore },
        }}
        clearHref="/failed"
      />
    </form>
  );
}
