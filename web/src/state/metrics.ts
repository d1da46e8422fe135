import { api, type MetricsBody } from '../api/client';
import { createPoller } from './poller';

/** GET /api/metrics: throughput series and per-queue figures from the rollups. */
export const metricsPoll = createPoller<MetricsBody>(() => api.api.metrics.$get());
