import type { InferRequestType, InferResponseType } from 'hono/client';
import type { api } from './client';

/** GET /api/metrics/series: throughput, run, wait and failure rate over a range, from the rollups. */
export type MetricsSeries = InferResponseType<typeof api.api.metrics.series.$get, 200>;
export type MetricsPoint = MetricsSeries['points'][number];
export type MetricsQueueFigures = MetricsSeries['queues'][number];
export type MetricsSeriesQuery = InferRequestType<typeof api.api.metrics.series.$get>['query'];
export type MetricsRange = MetricsSeries['range'];
