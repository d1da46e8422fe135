import { signal } from '@preact/signals';
import type { AlertChannelList, AlertRuleList, AlertsAnswer, DeliveryList, SilenceList } from '../api/alerts';
import { api } from '../api/client';
import { createPoller } from './poller';

/** How many alert events, and deliveries, a page of the history, and of the log, shows. */
export const ALERTS_PAGE_SIZE = 50;

/**
 * The page of the history and of the delivery log shown: the previous page's `nextCursor`, from
 * the URL (`?history=`, `?deliveries=`); undefined, the newest. Read at each request, so a new
 * page replaces the one on screen when it comes, without blanking the sections around it.
 */
export const historyCursor = signal<string | undefined>(undefined);
export const deliveriesCursor = signal<string | undefined>(undefined);

function pageQuery(cursor: string | undefined): { limit: string; cursor?: string } {
  return cursor === undefined
    ? { limit: String(ALERTS_PAGE_SIZE) }
    : { limit: String(ALERTS_PAGE_SIZE), cursor };
}

/**
 * The Alerts page's lists, each polled on the dashboard's refresh setting while the page shows
 * it. Shared: the rules' dialog names channels, the silences name rules, a channel's test adds to
 * the log.
 */
export const alertsNow = createPoller<AlertsAnswer>((headers) =>
  api.api.alerts.$get({ query: pageQuery(historyCursor.peek()) }, { headers }),
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
  api.api.alerts.deliveries.$get({ query: pageQuery(deliveriesCursor.peek()) }, { headers }),
);
