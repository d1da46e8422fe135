import { createRoute } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { requireRole } from '../middleware/require-role';
import { JobStatsSchema } from '../queries/job-stats';
import { MetricsSeriesSchema, metricsWithStats } from '../queries/metrics';
import { errorResponses, jsonResponse } from '../schemas/common';

const MetricsSchema = MetricsSeriesSchema.extend({ stats: JobStatsSchema }).openapi('Metrics');

const metricsRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['dashboard'],
  summary: 'Throughput, durations, depths, wait time, failure rate and worker stats',
  description:
    'All from the metrics rollups (finished hours from watchtower_metrics_hourly once the cron has rolled them up, the rest from the per-minute watchtower_metrics) and the workers table, never by scanning jobs.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  responses: { 200: jsonResponse(MetricsSchema, 'The metrics'), ...errorResponses(401, 403) },
});

export const metrics = createRouter().openapi(metricsRoute, async (c) => {
  return c.json(await metricsWithStats(c.get('services').db), 200);
});
