import { createRoute } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { withRole } from '../middleware/require-role';
import { alertEventPage, deliveryPage, firingAlerts } from '../queries/alert-history';
import {
  AlertsAnswerSchema,
  AlertsQuerySchema,
  DeliveriesQuerySchema,
  DeliveryListSchema,
  deliveryBody,
} from '../schemas/alert-history';
import { errorResponses, jsonResponse } from '../schemas/common';

/** What is firing now, the alerts' history and the notifications' delivery log. Viewers read. */

const TAGS = ['alerts'];

const alertsRoute = createRoute({
  method: 'get',
  path: '/',
  tags: TAGS,
  summary: 'Alerts firing now, and the history of alert events',
  description:
    'The cron evaluates every enabled rule once a minute. `events` pages back with `cursor` (an event id); silenced events are recorded with their `silenceId` and were not sent.',
  ...withRole('viewer'),
  request: { query: AlertsQuerySchema },
  responses: {
    200: jsonResponse(AlertsAnswerSchema, 'Firing alerts and recent events'),
    ...errorResponses(400, 401, 403),
  },
});

const deliveriesRoute = createRoute({
  method: 'get',
  path: '/deliveries',
  tags: TAGS,
  summary: 'The delivery log of notifications, newest first',
  description:
    'One row per notification per channel: pending ones are retried by the cron with a backoff (1, 2, 4, 8 minutes) and given up (`failed`) after 5 attempts of at most 5 s each.',
  ...withRole('viewer'),
  request: { query: DeliveriesQuerySchema },
  responses: {
    200: jsonResponse(DeliveryListSchema, 'A page of deliveries'),
    ...errorResponses(400, 401, 403),
  },
});

export const alertsRouter = createRouter()
  .openapi(alertsRoute, async (c) => {
    const query = c.req.valid('query');
    const db = c.get('services').db;
    const [firing, page] = await Promise.all([
      firingAlerts(db),
      alertEventPage(db, { ruleId: query.ruleId, before: query.cursor, limit: query.limit }),
    ]);
    return c.json(
      {
        firing: firing.map((row) => ({
          ruleId: row.ruleId,
          ruleName: row.ruleName,
          kind: row.kind,
          subject: row.subject,
          value: row.value,
          message: row.message,
          firedAt: (row.firedAt ?? row.evaluatedAt).toISOString(),
          notifiedAt: row.notifiedAt?.toISOString() ?? null,
          evaluatedAt: row.evaluatedAt.toISOString(),
          silenced: row.silenced,
        })),
        events: page.events.map((row) => ({
          id: Number(row.id),
          at: row.at.toISOString(),
          ruleId: row.ruleId,
          ruleName: row.ruleName,
          kind: row.kind,
          subject: row.subject,
          event: row.event,
          value: row.value,
          message: row.message,
          silenceId: row.silenceId,
        })),
        nextCursor: page.nextCursor,
      },
      200,
    );
  })
  .openapi(deliveriesRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await deliveryPage(c.get('services').db, {
      status: query.status,
      channelId: query.channelId,
      before: query.cursor,
      limit: query.limit,
    });
    return c.json({ deliveries: page.deliveries.map(deliveryBody), nextCursor: page.nextCursor }, 200);
  });
