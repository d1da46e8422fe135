import { createRoute, z } from '@hono/zod-openapi';
import { etag } from 'hono/etag';
import { createRouter } from '../app';
import { requireRole } from '../middleware/require-role';
import { JobStatsSchema } from '../queries/job-stats';
import { MetricsSeriesSchema, metricsWithStats } from '../queries/metrics';
import { MetricsSeriesAnswerSchema, metricsSeriesFor } from '../queries/metrics-series';
import { NameText, targetId } from '../queries/params';
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

const SeriesQuerySchema = z.strictObject({
  range: z
    .enum(['1h', '24h', '7d'])
    .default('1h')
    .openapi({ description: '1h: 60 points per minute; 24h: 24 per hour; 7d: 168 per hour' }),
  connection: targetId('Only this connection (all connections when absent)').optional(),
  queue: NameText.optional().openapi({ description: 'Only queues of this name (all queues when absent)' }),
});

const seriesRoute = createRoute({
  method: 'get',
  path: '/series',
  tags: ['dashboard'],
  summary: 'Throughput, run time, wait time and failure rate over 1 h, 24 h or 7 d, for all queues or one',
  description:
    'From the rollups only (per-minute watchtower_metrics for 1h, hours from watchtower_metrics_hourly ' +
    'once rolled up for 24h and 7d), never by scanning jobs. Run and wait times are the average and the ' +
    'maximum per step: the rollups keep no distribution to take a percentile from.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer'), etag()],
  request: { query: SeriesQuerySchema },
  responses: {
    200: jsonResponse(MetricsSeriesAnswerSchema, 'The series'),
    ...errorResponses(400, 401, 403),
  },
});

export const metrics = createRouter()
  .openapi(metricsRoute, async (c) => {
    return c.json(await metricsWithStats(c.get('services').db), 200);
  })
  .openapi(seriesRoute, async (c) => {
    const { range, connection, queue } = c.req.valid('query');
    return c.json(await metricsSeriesFor(c.get('services').db, range, { connection, queue }), 200);
  });
