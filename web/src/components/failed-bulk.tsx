import { useSignal } from '@preact/signals';
import { api, errorMessage } from '../api/client';
import type { FailedCount } from '../api/failed';
import { bulkConnection, bulkFilter, describeFilter, type FailedFilters } from '../lib/failed-filters';
import { formatCount } from '../lib/format';
import type { Poller } from '../state/poller';
import { ConfirmDialog } from './confirm-dialog';
import { BulkRun, type BulkStart } from './failed-bulk-run';

type Action = BulkStart['action'];

/**
 * "Retry all / Delete all matching this filter", for operators: the matching count first (polled,
 * GET /api/failed/count on the connection the command will act on), then a confirmation that
 * states the count and the filter, then the command (POST /api/failed/retry or /delete) and its
 * progress until the host reports it done.
 */
export function FailedBulk({
  filters,
  counter,
  onFinished,
}: {
  filters: FailedFilters;
  /** GET /api/failed/count for bulkFilter(filters), polled by the page (which refreshes it after its own commands). */
  counter: Poller<FailedCount>;
  onFinished: () => void;
}) {
  const filter = bulkFilter(filters);
  const confirming = useSignal<Action | null>(null);
  const run = useSignal<BulkStart | null>(null);
  const sendError = useSignal<string | null>(null);
  const count = counter.data.value;
  const countError = counter.error.value;
  const connection = bulkConnection(filters);
  const running = run.value !== null && !run.value.finished;

  async function send(action: Action, expected: FailedCount) {
    sendError.value = null;
    try {
      const json = { filter };
      const response =
        action === 'retry'
          ? await api.api.failed.retry.$post({ json, query: {} })
          : await api.api.failed.delete.$post({ json, query: {} });
      if (!response.ok) {
        sendError.value = await errorMessage(response);
        return;
      }
      const { command } = await response.json();
      run.value = { action, commandId: command.id, expected, connection, finished: false };
    } catch {
      sendError.value = 'The server cannot be reached';
    }
  }

  const shown = count === undefined ? null : formatCount(count.count, count.certainty);
  const parts = describeFilter(filter).filter(([label]) => label !== 'connection');
  return (
    <section class="card failed-bulk" aria-labelledby="bulk-title">
      <h2 id="bulk-title">All matching this filter</h2>
      <p class="bulk-count">
        {count === undefined ? (
          countError === null ? (
            'Counting the matching jobs…'
          ) : (
            <span class="outcome-error">Cannot count the matching jobs: {countError}</span>
          )
        ) : (
          <>
            <strong data-matching-count>{shown}</strong> failed{' '}
            {count.count === 1 ? 'job matches' : 'jobs match'} on connection <strong>{connection}</strong>
            {count.certainty === 'lower_bound' && ' (the count stops there; there are more)'}.
          </>
        )}
      </p>
      {filters.connection === undefined && (
        <p class="hint">
          A bulk action works on one connection at a time: {connection} unless the Connection filter names
          another.
        </p>
      )}
      <div class="bulk-buttons">
        {(['retry', 'delete'] as const).map((action) => (
          <button
            key={action}
            type="button"
            class={action === 'retry' ? 'button-primary' : undefined}
            disabled={count === undefined || count.count === 0 || running}
            onClick={() => {
              counter.refresh();
              confirming.value = action;
            }}
          >
            {action === 'retry' ? 'Retry' : 'Delete'} {shown ?? 'all'} matching{' '}
            {count?.count === 1 ? 'job' : 'jobs'}…
          </button>
        ))}
      </div>
      {sendError.value !== null && (
        <p class="outcome outcome-error" role="status">
          The command was not sent: {sendError.value}
        </p>
      )}
      {run.value && (
        <BulkRun
          key={run.value.commandId}
          start={run.value}
          onFinished={() => {
            if (run.value) run.value = { ...run.value, finished: true };
            counter.refresh();
            onFinished();
          }}
          onDismiss={() => {
            run.value = null;
          }}
        />
      )}
      <ConfirmDialog
        open={confirming.value !== null && count !== undefined}
        title={`${confirming.value === 'delete' ? 'Delete' : 'Retry'} ${shown ?? ''} failed ${count?.count === 1 ? 'job' : 'jobs'}?`}
        confirmLabel={`${confirming.value === 'delete' ? 'Delete' : 'Retry'} ${shown ?? ''} ${count?.count === 1 ? 'job' : 'jobs'}`}
        danger={confirming.value === 'delete'}
        onConfirm={() => {
          const action = confirming.value;
          if (action && count) void send(action, count);
        }}
        onClose={() => {
          confirming.value = null;
        }}
      >
        <p>
          Every failed job on connection <strong>{connection}</strong>{' '}
          {parts.length === 0 ? 'whatever its queue, name or exception.' : 'matching:'}
        </p>
        {parts.length > 0 && (
          <dl class="bulk-filter">
            {parts.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        )}
        <p>
          {shown} {count?.count === 1 ? 'job matches' : 'jobs match'} now
          {count?.certainty === 'lower_bound' ? ' (at least)' : ''}. The host acts on every job that matches
          when it runs the command, including any that fail meanwhile.
          {confirming.value === 'delete' &&
            (count?.count === 1
              ? ' It is removed from its queue; its history here stays.'
              : ' They are removed from their queues; their history here stays.')}
        </p>
      </ConfirmDialog>
    </section>
  );
}
