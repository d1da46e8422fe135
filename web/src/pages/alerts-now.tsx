import { useId } from 'preact/hooks';
import type { AlertEvent, FiringAlert } from '../api/alerts';
import { KINDS } from '../api/alerts';
import { AlertsPager } from '../components/alerts-pager';
import { Banner } from '../components/banner';
import { ShowAllRows, useFirstRows } from '../components/first-rows';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { alertsNow, historyCursor } from '../state/alert-config';

const EVENT_LABELS: Record<AlertEvent['event'], string> = {
  firing: 'Fired',
  renotify: 'Still firing',
  resolved: 'Resolved',
};

/** What fires now (GET /api/alerts), then the alert events, newest first, a page at a time. */
export function AlertsNow() {
  const answer = alertsNow.data.value;
  const cursor = historyCursor.value;
  const paged = cursor !== undefined;
  const events = useFirstRows(answer?.events ?? [], cursor);
  const eventsId = useId();
  const error = alertsNow.error.value;
  const now = alertsNow.serverTime.value ?? Date.now();
  return (
    <>
      <section class="alerts-part" aria-labelledby="alerts-firing-title">
        <h2 id="alerts-firing-title">Firing now</h2>
        {error !== null && (
          <Banner tone={answer ? 'warning' : 'error'}>
            <strong>{answer ? 'Connection lost, retrying.' : 'Cannot load the alerts, retrying.'}</strong>{' '}
            {error}
          </Banner>
        )}
        {answer === undefined ? (
          error === null && <p class="loading">Loading…</p>
        ) : answer.firing.length === 0 ? (
          <p class="empty card">Nothing is firing.</p>
        ) : (
          <div class="card">
            <TableScroll label="Alerts firing now">
              <table class="stacked-table alerts-table">
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">State</th>
                    <th scope="col">Subject</th>
                    <th scope="col">What</th>
                    <th scope="col">Since</th>
                    <th scope="col">Last notified</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.firing.map((alert) => (
                    <FiringRow key={`${alert.ruleId}:${alert.subject}`} alert={alert} now={now} />
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </div>
        )}
      </section>
      <section class="alerts-part" aria-labelledby="alerts-history-title">
        <h2 id="alerts-history-title">{paged ? 'History, older events' : 'Recent history'}</h2>
        {answer !== undefined && (
          <div class="card">
            {answer.events.length === 0 ? (
              <p class="empty">{paged ? 'No older alert events.' : 'No alert has fired yet.'}</p>
            ) : (
              <TableScroll label={paged ? 'Older alert events' : 'Recent alert events'}>
                <table class="stacked-table alerts-table">
                  <thead>
                    <tr>
                      <th scope="col">Rule</th>
                      <th scope="col">Event</th>
                      <th scope="col">Subject</th>
                      <th scope="col">What</th>
                      <th scope="col">When</th>
                      <th scope="col">Sent</th>
                    </tr>
                  </thead>
                  <tbody id={eventsId}>
                    {events.shown.map((event) => (
                      <EventRow key={event.id} event={event} now={now} />
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            )}
            <ShowAllRows all={events.all} count={answer.events.length} noun="events" controls={eventsId} />
            <AlertsPager param="history" nextCursor={answer.nextCursor} label="Pages of alert history" />
          </div>
        )}
        {answer === undefined && paged && (
          <AlertsPager param="history" nextCursor={null} label="Pages of alert history" />
        )}
      </section>
    </>
  );
}

function FiringRow({ alert, now }: { alert: FiringAlert; now: number }) {
  return (
    <tr data-alert={`${alert.ruleName} ${alert.subject}`}>
      <td class="cell-text stack-title" data-label="Rule">
        <span class="cell-main">{alert.ruleName}</span>
        <span class="cell-sub"> {KINDS[alert.kind].label}</span>
      </td>
      <td class="stack-aside" data-label="State">
        {alert.silenced ? (
          <span class="status status-paused">silenced</span>
        ) : (
          <span class="status status-failed">firing</span>
        )}
      </td>
      <td class="cell-text alerts-subject" data-label="Subject">
        <span>{alert.subject}</span>
      </td>
      <td class="cell-text alerts-message" data-label="What">
        <span>{alert.message}</span>
      </td>
      <td data-label="Since">
        <RelativeTime at={alert.firedAt} now={now} />
      </td>
      <td data-label="Notified">
        {alert.notifiedAt === null ? (
          <span>not notified</span>
        ) : (
          <RelativeTime at={alert.notifiedAt} now={now} />
        )}
      </td>
    </tr>
  );
}

function EventRow({ event, now }: { event: AlertEvent; now: number }) {
  return (
    <tr data-event={event.event}>
      <td class="cell-text stack-title" data-label="Rule">
        <span class="cell-main">{event.ruleName}</span>
      </td>
      <td class="stack-aside" data-label="Event">
        <span class={`status ${event.event === 'resolved' ? 'status-completed' : 'status-failed'}`}>
          {EVENT_LABELS[event.event]}
        </span>
      </td>
      <td class="cell-text alerts-subject" data-label="Subject">
        <span>{event.subject}</span>
      </td>
      <td class="cell-text alerts-message" data-label="What">
        <span>{event.message}</span>
      </td>
      <td data-label="When">
        <RelativeTime at={event.at} now={now} />
      </td>
      <td data-label="Sent">
        <span>{event.silenceId === null ? 'sent' : 'silenced, not sent'}</span>
      </td>
    </tr>
  );
}
