import { useEffect } from 'preact/hooks';
import { firingAlerts, firingCount } from '../state/firing-alerts';

/** The number of alerts firing now, linking to the Alerts page; nothing when none fires. */
export function AlertsBadge() {
  useEffect(() => firingAlerts.start(), []);
  const count = firingCount.value;
  if (count === 0) return null;
  const name = `${count} ${count === 1 ? 'alert' : 'alerts'} firing`;
  return (
    <a class="alerts-badge" href="/alerts" aria-label={name} title={name}>
      {count}
    </a>
  );
}
