import { useEffect } from 'preact/hooks';
import type { QueueInfo } from '../api/queues';
import { Banner } from '../components/banner';
import { QueueButtons, QueueStateCell, useQueueAction } from '../components/queue-control';
import { failureRate, formatRate, queueLink, StateCells, StateHeaders } from '../components/queue-figures';
import { TableScroll } from '../components/table-scroll';
import '../components/stacked-table.css';
import { formatCount } from '../lib/format';
import { queuesPoll } from '../state/queues';
import { canOperate } from '../state/roles';
import './queues.css';

/**
 * Every queue Watchtower knows: its recorded jobs by state, the oldest waiting job, the last hour's
 * throughput and failure rate, its workers, and whether it is paused, with Pause and Resume.
 */
export function Queues() {
  useEffect(() => queuesPoll.start(), []);
  const data = queuesPoll.data.value;
  const error = queuesPoll.error.value;
  const now = queuesPoll.serverTime.value ?? Date.now();

  return (
    <section aria-labelledby="queues-title" aria-busy={data === undefined && error === null}>
      <h1 id="queues-title">Queues</h1>
      <p class="queues-intro">
        Jobs by state count the jobs Watchtower recorded on each queue (up to 1,000 each); completed, failed
        and the failure rate cover the last hour. Paused is what a host last confirmed.
      </p>
      {error !== null && data !== undefined && (
        <Banner tone="warning">
          <strong>Connection lost, retrying.</strong> The figures below are from the last answer ({error}).
        </Banner>
      )}
      {error !== null && data === undefined && (
        <Banner tone="error">
          <strong>Cannot load the queues, retrying.</strong> {error}
        </Banner>
      )}
      {data === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : data.queues.length === 0 ? (
        <p class="empty card">
          No queue yet. A queue appears here once a worker-host serves it or records a job on it.
        </p>
      ) : (
        <section class="card">
          <TableScroll label="Queues">
            <table class="queues-table stacked-table">
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  <th scope="col">State</th>
                  {canOperate.value && (
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  )}
                  <StateHeaders />
                  <th scope="col" class="numeric">
                    Completed, 1 h
                  </th>
                  <th scope="col" class="numeric">
                    Failed, 1 h
                  </th>
                  <th scope="col" class="numeric">
                    Failure rate
                  </th>
                  <th scope="col">Workers</th>
                </tr>
              </thead>
              <tbody>
                {data.queues.map((queue) => (
                  <QueueRow key={`${queue.connection}/${queue.queue}`} queue={queue} now={now} />
                ))}
              </tbody>
            </table>
          </TableScroll>
        </section>
      )}
    </section>
  );
}

function QueueRow({ queue, now }: { queue: QueueInfo; now: number }) {
  const { action, pendingVerb, send } = useQueueAction(queue, () => queuesPoll.refresh());
  return (
    <tr data-queue={queue.queue} data-connection={queue.connection}>
      <td class="cell-text stack-title">
        <a class="cell-main" href={queueLink('/jobs', queue)}>
          {queue.queue}
        </a>
        <span class="cell-sub">
          {queue.connection} · <a href={queueLink('/metrics', queue)}>metrics</a>
        </span>
      </td>
      <td data-cell="state" class="stack-aside">
        <QueueStateCell queue={queue} pendingVerb={pendingVerb} />
      </td>
      {canOperate.value && (
        <td class="queue-actions stack-bare">
          <div class="queue-buttons">
            <QueueButtons queue={queue} busy={pendingVerb !== null} onSend={(verb) => void send(verb)} />
          </div>
          {action && (
            <p
              class={`outcome outcome-${action.phase === 'refused' ? 'error' : action.phase === 'pending' ? 'pending' : 'ok'}`}
              role="status"
            >
              {action.text}
            </p>
          )}
        </td>
      )}
      <StateCells queue={queue} now={now} />
      <td class="numeric" data-cell="completed" data-label="Completed, 1 h">
        {formatCount(queue.lastHour.completed)}
      </td>
      <td class="numeric" data-cell="failed" data-label="Failed, 1 h">
        {formatCount(queue.lastHour.failed)}
      </td>
      <td class="numeric" data-label="Failure rate">
        {formatRate(failureRate(queue))}
      </td>
      <td class="queue-workers" data-label="Workers">
        {queue.workers.total === 0 ? (
          <span class="cell-sub">none</span>
        ) : (
          <>
            {formatCount(queue.workers.running)} running
            {queue.workers.paused > 0 && (
              <span class="cell-sub"> · {formatCount(queue.workers.paused)} paused</span>
            )}
          </>
        )}
      </td>
    </tr>
  );
}
