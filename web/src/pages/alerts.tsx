import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import {
  alertChannels,
  alertDeliveries,
  alertRules,
  alertSilences,
  alertsNow,
  deliveriesCursor,
  historyCursor,
} from '../state/alert-config';
import { AlertChannels } from './alert-channels';
import { AlertDeliveries } from './alert-deliveries';
import { AlertRules } from './alert-rules';
import { AlertSilences } from './alert-silences';
import { AlertsNow } from './alerts-now';
import '../components/stacked-table.css';
import './config-pages.css';
import './alerts.css';

/**
 * Alerts: what fires now and what fired lately, the rules the cron evaluates every minute, the
 * silences that keep alerts from being sent, and where notifications go (channels, their delivery
 * log). Everyone reads; operators change rules and silences, admins channels. The history and the
 * log page back on their own, each with its cursor in the URL (`?history=`, `?deliveries=`).
 */
export function Alerts() {
  const location = useLocation();
  const history = location.query.history?.trim() || undefined;
  const deliveries = location.query.deliveries?.trim() || undefined;
  // Before the pollers start (effects run in order), and again whenever a pager link changes one.
  useEffect(() => {
    if (historyCursor.peek() === history) return;
    historyCursor.value = history;
    alertsNow.refresh();
  }, [history]);
  useEffect(() => {
    if (deliveriesCursor.peek() === deliveries) return;
    deliveriesCursor.value = deliveries;
    alertDeliveries.refresh();
  }, [deliveries]);
  useEffect(() => {
    const stops = [alertsNow, alertRules, alertSilences, alertChannels, alertDeliveries].map((poller) =>
      poller.start(),
    );
    return () => {
      for (const stop of stops) stop();
    };
  }, []);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">Alerts</h1>
      <p class="config-intro">
        Rules are evaluated once a minute. An alert fires after its rule finds the condition in a row,
        notifies its channels, and resolves when the condition is gone.
      </p>
      <nav class="alerts-sections" aria-label="Alert sections">
        <ul>
          <li>
            <a href="#alerts-firing-title">Firing now</a>
          </li>
          <li>
            <a href="#alerts-history-title">History</a>
          </li>
          <li>
            <a href="#alerts-rules-title">Rules</a>
          </li>
          <li>
            <a href="#alerts-silences-title">Silences</a>
          </li>
          <li>
            <a href="#alerts-channels-title">Channels</a>
          </li>
          <li>
            <a href="#alerts-deliveries-title">Delivery log</a>
          </li>
        </ul>
      </nav>
      <AlertsNow />
      <AlertRules />
      <AlertSilences />
      <AlertChannels />
      <AlertDeliveries />
    </section>
  );
}
