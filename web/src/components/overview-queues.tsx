import type { QueueInfo } from '../api/queues';
import { formatCount } from '../lib/format';
import { queuesPoll } from '../state/queues';
import { failureRate, formatRate, PausedState, queueLink, StateCells, StateHeaders } from './queue-figures';
import { TableScroll } from './table-scroll';
import './stacked-table.css';

/**
 * The Overview's live queue table (GET /api/queues, polled while the Overview is open): jobs by
 * state, oldest wait, the last hour's throughput and failure rate, and the paused state a host
 * confirmed. The same figures, from the same answer, as the Queues page.
 */
export function OverviewQueues() {
  const data = queuesPoll.data.value;
  const error = queuesPoll.error.value;
  const now = queuesPoll.serverTime.value ?? Date.now();
  return (
    <section class="card overview-queues" aria-labelledby="overview-queues-title">
      <h2 id="overview-queues-title">
        <a href="/queues">Queues</a> now
      </h2>
      {data === undefined ? (
        error === null ? (
          <p class="loading">Loading…</p>
        ) : (
          <p class="empty">Cannot load the queues, retrying ({error}).</p>
        )
      ) : data.queues.length === 0 ? (
        <p class="empty">No queue yet. A queue appears here once a worker-host serves it.</p>
      ) : (
        <TableScroll label="Queues now">
          <table class="stacked-table">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">State</th>
                <StateHeaders />
                <th scope="col" class="numeric">
                  Done, 1 h
                </th>
                <th scope="col" class="numeric">
                  Failure rate, 1 h
                </th>
              </tr>
            </thead>
            <tbody>
              {data.queues.map((queue) => (
                <Row key={`${queue.connection}/${queue.queue}`} queue={queue} now={now} />
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}

function Row({ queue, now }: { queue: QueueInfo; now: number }) {
  return (
    <tr data-queue={queue.queue} data-connection={queue.connection}>
      <td class="cell-text stack-title">
        <a class="cell-main" href={queueLink('/jobs', queue)}>
          {queue.queue}
        </a>
        <span class="cell-sub">{queue.connection}</span>
      </td>
      <td data-cell="state" class="stack-aside">
        <PausedState paused={queue.paused} />
        {queue.pending && <span class="cell-sub"> {queue.pending.label}…</span>}
      </td>
      <StateCells queue={queue} now={now} />
      <td class="numeric" data-cell="done" data-label="Done, 1 h">
        {formatCount(queue.lastHour.completed + queue.lastHour.failed)}
      </td>
      <td class="numeric" data-label="Failure rate, 1 h">
        {formatRate(failureRate(queue))}
      </td>
    </tr>
  );
}
