import { api } from '../api/client';
import type { MetricsRange, MetricsSeries } from '../api/metrics';
import { createPoller, type Poller } from './poller';

export const METRIC_RANGES = ['1h', '24h', '7d'] as const satisfies readonly MetricsRange[];

export interface SeriesKey {
  range: MetricsRange;
  connection?: string | undefined;
  queue?: string | undefined;
}

const pollers = new Map<string, Poller<MetricsSeries>>();

/**
 * One poller of GET /api/metrics/series per range and queue, kept for the visit: going back to a
 * range shows its last answer at once (and asks with its ETag), and the Overview and the Metrics
 * page share the all-queues ones.
 */
export function seriesPoller(key: SeriesKey): Poller<MetricsSeries> {
  const query = {
    range: key.range,
    ...(key.connection ? { connection: key.connection } : {}),
    ...(key.queue ? { queue: key.queue } : {}),
  };
  const id = JSON.stringify(query);
  let poller = pollers.get(id);
  if (!poller) {
    poller = createPoller<MetricsSeries>((headers) => api.api.metrics.series.$get({ query }, { headers }));
    pollers.set(id, poller);
  }
  return poller;
}
