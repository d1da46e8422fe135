import { computed } from '@preact/signals';
import type { AlertsAnswer } from '../api/alerts';
import { api } from '../api/client';
import { createPoller } from './poller';

/**
 * What fires now, polled on the dashboard's refresh setting for the nav's badge on every page
 * (one event of history only: the badge needs the firing list). The Alerts page refreshes it after
 * a change, so the badge follows at once.
 */
export const firingAlerts = createPoller<AlertsAnswer>((headers) =>
  api.api.alerts.$get({ query: { limit: '1' } }, { headers }),
);

export const firingCount = computed(() => firingAlerts.data.value?.firing.length ?? 0);
