import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { requireRole } from '../middleware/require-role';
import { connectionHealthFor, HealthAnswerSchema } from '../queries/connection-health';
import { errorResponses, jsonResponse } from '../schemas/common';

const QuerySchema = z.strictObject({
  range: z
    .enum(['1h', '24h', '7d'])
    .default('1h')
    .openapi({ description: '1h: latency per minute; 24h and 7d: per hour' }),
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
    '`noeviction: false` means Redis may evict BullMQ keys under memory pressure.',
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
