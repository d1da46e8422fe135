import type { AlertChannelList, AlertRuleList, AlertsAnswer, DeliveryList, SilenceList } from '../api/alerts';
import { api } from '../api/client';
import { createPoller } from './poller';

/**
 * The Alerts page's lists, each polled on the dashboard's refresh setting while the page shows
 * it. Shared: the rules' dialog names channels, the silences name rules, channels show their last
 * delivery.
 */
export const alertsNow = createPoller<AlertsAnswer>((headers) =>
  api.api.alerts.$get({ query: { limit: '50' } }, { headers }),
);

export const alertRules = createPoller<AlertRuleList>((headers) =>
  api.api.alerts.rules.$get({ query: { limit: '500' } }, { headers }),
);

export const alertSilences = createPoller<SilenceList>((headers) =>
  api.api.alerts.silences.$get({ query: { limit: '100' } }, { headers }),
);

export const alertChannels = createPoller<AlertChannelList>((headers) =>
  api.api.alerts.channels.$get({ query: { limit: '500' } }, { headers }),
);

export const alertDeliveries = createPoller<DeliveryList>((headers) =>
  api.api.alerts.deliveries.$get({ query: { limit: '50' } }, { headers }),
);
