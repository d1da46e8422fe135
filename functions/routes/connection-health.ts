import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { requireRole } from '../middleware/require-role';
import { connectionHealthFor, HEALTH_RANGE_NAMES, HealthAnswerSchema } from '../queries/connection-health';
import { errorResponses, jsonResponse } from '../schemas/common';

const QuerySchema = z.strictObject({
  range: z
    .enum(HEALTH_RANGE_NAMES)
    .default('1h')
    .openapi({ description: '1h: latency per minute; 24h, 7d, 30d and 90d: per hour' }),
});

const connectionsRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['dashboard'],
  summary:
    "Each connection's health (up or down now, latency p50/p95, errors, Redis memory and policy) and each host's",
  description:
    'From the per-minute rows every host writes with its heartbeat (watchtower_connection_health): each host checks ' +
    'each connection of its configuration every host.healthInterval seconds. A connection is down when the newest ' +
    'check of any live host saw it down, up when all saw it up, unknown when no live host checked it in the range. ' +
    '`noeviction: false` means Redis may evict BullMQ keys under memory pressure. ' +
    'Ranges: 1h per minute; 24h, 7d, 30d and 90d per hour, each finished hour from the hourly rollups ' +
    '(watchtower_connection_health_hourly) once the cron rolled it up after it ended, the current hour ' +
    'and any hour not rolled up yet from the minute rows. Minute rows are kept WATCHTOWER_RETENTION_HEALTH_DAYS ' +
    '(30) days, hourly rows the longer of that and 90 days.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { query: QuerySchema },
  responses: {
    200: jsonResponse(HealthAnswerSchema, 'Connections and hosts'),
    ...errorResponses(400, 401, 403),
  },
});

/** `GET /api/health/connections` (viewer). `/api/health` itself stays the public liveness check. */
export const connectionHealth = createRouter().openapi(connectionsRoute, async (c) => {
  c.header('Cache-Control', 'no-store');
  return c.json(await connectionHealthFor(c.get('services').db, c.req.valid('query').range), 200);
});
