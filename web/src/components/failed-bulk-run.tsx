import { useEffect, useMemo, useRef } from 'preact/hooks';
import { api } from '../api/client';
import type { BulkProgress, Command, FailedCount } from '../api/failed';
import { formatCount } from '../lib/format';
import { createPoller } from '../state/poller';

export interface BulkStart {
  action: 'retry' | 'delete';
  commandId: string;
  /** The matching count the operator confirmed: the progress bar's length. */
  expected: FailedCount;
  connection: string;
  finished: boolean;
}

type CommandAnswer = { command: Command };

/**
 * One bulk command followed on GET /api/commands/{id} (the page's poller: one request at a time,
 * paused while the tab is hidden) until the host reports it done, failed or it expired: a progress
 * bar fed by the host's `progress`, then the final count or the host's reason.
 */
export function BulkRun({
  start,
  onFinished,
  onDismiss,
}: {
  start: BulkStart;
  onFinished: () => void;
  onDismiss: () => void;
}) {
  const poller = useMemo(
    () => createPoller<CommandAnswer>(() => api.api.commands[':id'].$get({ param: { id: start.commandId } })),
    [start.commandId],
  );
  const stop = useRef<(() => void) | null>(null);
  useEffect(() => {
    stop.current = poller.start();
    return () => stop.current?.();
  }, [poller]);

  const command = poller.data.value?.command;
  const status = command?.status ?? 'pending';
  const finished = status === 'done' || status === 'failed' || status === 'expired';
  useEffect(() => {
    if (!finished) return;
    stop.current?.();
    onFinished();
  }, [finished]);

  // While it runs, what the host reported so far; once done, its result (the same counts, final).
  const report = (finished && status === 'done' ? command?.result : command?.progress) as BulkProgress | null;
  const processed = report?.processed ?? 0;
  const verb = start.action === 'retry' ? 'Retry' : 'Delete';
  const exact = start.expected.certainty === 'exact';
  // Jobs that failed since the count was taken can make the walk longer than the count.
  const max = finished ? Math.max(processed, 1) : Math.max(start.expected.count, processed, 1);
  const value = finished ? max : exact ? processed : undefined;
  const error = poller.error.value;

  return (
    <div class="bulk-run" data-status={status}>
      <h3>
        {verb} all matching, on connection {start.connection}
      </h3>
      <progress max={max} value={value} aria-label={`${verb} all matching: progress`} />
      <p class={`outcome outcome-${tone(status)}`} role="status">
        {describe(start, status, report, command?.error ?? null)}
      </p>
      {report && report.errors.length > 0 && (
        <ul class="bulk-errors" aria-label="Jobs the host could not handle">
          {report.errors.map((item) => (
            <li key={`${item.queue}/${item.jobId}`}>
              {item.queue} #{item.jobId}: {item.error}
            </li>
          ))}
        </ul>
      )}
      {error !== null && !finished && (
        <p class="outcome outcome-pending">Connection lost, retrying ({error}).</p>
      )}
      {finished && (
        <button type="button" class="button-quiet" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

function tone(status: Command['status']): 'ok' | 'error' | 'pending' {
  if (status === 'done') return 'ok';
  if (status === 'failed' || status === 'expired') return 'error';
  return 'pending';
}

function describe(
  start: BulkStart,
  status: Command['status'],
  report: BulkProgress | null,
  error: string | null,
): string {
  const of = formatCount(start.expected.count, start.expected.certainty);
  const processed = report?.processed ?? 0;
  switch (status) {
    case 'pending':
      return `Pending: waiting for a host that reaches connection ${start.connection}…`;
    case 'claimed':
      return `A host is on it: ${formatCount(processed)} of ${of} processed…`;
    case 'expired':
      return 'Expired: no host claimed the command in time; nothing was done.';
    case 'failed':
      return `The host refused: ${error ?? 'no reason given'}${report ? ` (after ${formatCount(processed)} jobs)` : ''}`;
    case 'done': {
      if (!report) return 'Done.';
      const handled =
        start.action === 'retry'
          ? `${formatCount(report.retried + report.readded)} retried (${formatCount(report.retried)} re-queued, ${formatCount(report.readded)} re-added from their stored data)`
          : `${formatCount(report.deleted)} deleted`;
      const rest = `${formatCount(report.skipped)} skipped, ${formatCount(report.failed)} could not be handled`;
      const stopped = report.complete
        ? ''
        : ' The host stopped before the end (its limit, or it was stopping): run it again for the rest.';
      return `Done: ${formatCount(processed)} processed, ${handled}, ${rest}.${stopped}`;
    }
  }
}
