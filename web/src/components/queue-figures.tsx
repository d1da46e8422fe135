import type { QueueInfo } from '../api/queues';
import { formatCount } from '../lib/format';
import { RelativeTime } from './relative-time';

/**
 * Pieces the Queues page and the Overview's queue table share, so the two show a queue's figures
 * the same way.
 */

export type StateKey = keyof QueueInfo['states'];

/** A recorded-state count; "1,000+" when the API says the count stopped at its cap. */
export function stateCount(queue: QueueInfo, key: StateKey): string {
  return formatCount(queue.states[key], queue.lowerBound.includes(key) ? 'lower_bound' : 'exact');
}

/** Failed share of the jobs finished in the last hour, or null when none finished. */
export function failureRate(queue: QueueInfo): number | null {
  const finished = queue.lastHour.completed + queue.lastHour.failed;
  return finished === 0 ? null : queue.lastHour.failed / finished;
}

export function formatRate(rate: number | null): string {
  return rate === null ? '–' : `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)} %`;
}

/** Where a queue's jobs and its charts are (the URL contract between the pages). */
export function queueLink(
  page: '/jobs' | '/metrics',
  queue: Pick<QueueInfo, 'queue' | 'connection'>,
): string {
  return `${page}?${new URLSearchParams({ queue: queue.queue, connection: queue.connection })}`;
}

/** Paused or running as a host last confirmed it; "not reported" when no host has said yet. */
export function PausedState({ paused }: { paused: boolean | null }) {
  if (paused === null) {
    return (
      <span class="status" title="No host has reported whether this queue is paused">
        not reported
      </span>
    );
  }
  return paused ? (
    <span class="status status-paused">paused</span>
  ) : (
    <span class="status status-running">running</span>
  );
}

/** The by-state column headers both queue tables have, in the order StateCells fills them. */
export function StateHeaders() {
  return (
    <>
      <th scope="col" class="numeric">
        Waiting
      </th>
      <th scope="col" class="numeric">
        Delayed
      </th>
      <th scope="col" class="numeric">
        Retrying
      </th>
      <th scope="col" class="numeric">
        Active
      </th>
      <th scope="col">Oldest waiting</th>
    </>
  );
}

/**
 * A queue's recorded jobs by state and its oldest waiting job, as cells. `data-label` names each
 * cell where a phone shows the row as a card (stacked-table.css).
 */
export function StateCells({ queue, now }: { queue: QueueInfo; now: number }) {
  return (
    <>
      <td class="numeric" data-cell="waiting" data-label="Waiting">
        {stateCount(queue, 'waiting')}
      </td>
      <td class="numeric" data-cell="delayed" data-label="Delayed">
        {stateCount(queue, 'delayed')}
      </td>
      <td class="numeric" data-cell="retrying" data-label="Retrying">
        {stateCount(queue, 'retrying')}
      </td>
      <td class="numeric" data-cell="active" data-label="Active">
        {formatCount(queue.processing)}
      </td>
      <td data-cell="oldest" data-label="Oldest waiting">
        <RelativeTime at={queue.oldestWaitingAt} now={now} />
      </td>
    </>
  );
}
