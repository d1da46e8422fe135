import { useId } from 'preact/hooks';
import type { Delivery } from '../api/alerts';
import { AlertsPager } from '../components/alerts-pager';
import { ShowAllRows, useFirstRows } from '../components/first-rows';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { alertDeliveries, deliveriesCursor } from '../state/alert-config';

const TYPE_LABELS: Record<string, string> = {
  'alert.firing': 'fired',
  'alert.renotify': 'still firing',
  'alert.resolved': 'resolved',
  test: 'test',
};

/**
 * The delivery log, newest first, a page at a time: a channel that fails shows here with its error
 * and attempts.
 */
export function AlertDeliveries() {
  const list = alertDeliveries.data.value;
  const cursor = deliveriesCursor.value;
  const paged = cursor !== undefined;
  const rows = useFirstRows(list?.deliveries ?? [], cursor);
  const rowsId = useId();
  const error = alertDeliveries.error.value;
  const now = alertDeliveries.serverTime.value ?? Date.now();
  return (
    <section class="alerts-part" aria-labelledby="alerts-deliveries-title">
      <h2 id="alerts-deliveries-title">Delivery log</h2>
      {error !== null && <p class="alerts-error">Cannot load the delivery log: {error}</p>}
      {list !== undefined && (
        <div class="card">
          {list.deliveries.length === 0 ? (
            <p class="empty">{paged ? 'No older deliveries.' : 'Nothing sent yet.'}</p>
          ) : (
            <TableScroll label={paged ? 'Older deliveries' : 'Newest deliveries'}>
              <table class="stacked-table alerts-table">
                <thead>
                  <tr>
                    <th scope="col">Channel</th>
                    <th scope="col">Status</th>
                    <th scope="col">What</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Answer</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody id={rowsId}>
                  {rows.shown.map((delivery) => (
                    <DeliveryRow key={delivery.id} delivery={delivery} now={now} />
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          <ShowAllRows all={rows.all} count={list.deliveries.length} noun="deliveries" controls={rowsId} />
          <AlertsPager param="deliveries" nextCursor={list.nextCursor} label="Pages of the delivery log" />
        </div>
      )}
      {list === undefined && paged && (
        <AlertsPager param="deliveries" nextCursor={null} label="Pages of the delivery log" />
      )}
    </section>
  );
}

function DeliveryRow({ delivery, now }: { delivery: Delivery; now: number }) {
  const status =
    delivery.status === 'sent' ? 'completed' : delivery.status === 'failed' ? 'failed' : 'retrying';
  return (
    <tr data-delivery={delivery.channelName} data-status={delivery.status}>
      <td class="cell-text stack-title" data-label="Channel">
        <span class="cell-main">{delivery.channelName}</span>
      </td>
      <td class="stack-aside" data-label="Status">
        <span class={`status status-${status}`}>{delivery.status}</span>
      </td>
      <td data-label="What">
        <span>{TYPE_LABELS[delivery.type] ?? delivery.type}</span>
      </td>
      <td class="numeric" data-label="Attempts">
        {delivery.attempts}
      </td>
      <td class="cell-text alerts-message" data-label="Answer">
        <span class={delivery.lastError === null ? undefined : 'alerts-error'}>
          {/* The error names the receiver's status when it had one; a status alone is an answer. */}
          {delivery.lastError ?? (delivery.lastStatus === null ? '–' : `HTTP ${delivery.lastStatus}`)}
          {delivery.status === 'pending' && delivery.nextAttemptAt !== null && (
            <span class="cell-sub">
              {' '}
              next try <RelativeTime at={delivery.nextAttemptAt} now={now} />
            </span>
          )}
        </span>
      </td>
      <td data-label="When">
        <RelativeTime at={delivery.lastAttemptAt ?? delivery.createdAt} now={now} />
      </td>
    </tr>
  );
}
