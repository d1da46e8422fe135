import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { withRole } from '../middleware/require-role';
import { DeadLetterSchema, listDeadLetters } from '../queries/dead-letters';
import { NameText, targetId } from '../queries/params';
import { errorResponses, jsonResponse, LimitSchema } from '../schemas/common';

const DeadLetterQuerySchema = z.strictObject({
  host: targetId('Only rows set aside by this host').optional(),
  connection: targetId('Only rows of this connection').optional(),
  queue: NameText.optional().openapi({ description: 'Only rows of this queue' }),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'not a cursor from a previous page')
    .optional()
    .openapi({ description: "The previous page's `nextCursor`: rows set aside before it" }),
  limit: LimitSchema,
});

const DeadLetterListSchema = z
  .object({ deadLetters: z.array(DeadLetterSchema), nextCursor: z.string().nullable() })
  .openapi('DeadLetterList');

const listRoute = createRoute({
  method: 'get',
  path: '/dead-letters',
  tags: ['recorder'],
  summary: 'Rows the recorder set aside because Postgres refused them, newest first',
  description:
    'A job event Postgres refuses for its content (a data error no retry fixes) is set aside here with the ' +
    'error, so it never holds back the rows behind it. Each host counts them in its stats ' +
    '(`stats.recorder.deadLettered`) and `GET /api/hosts` shows how many each host has here. ' +
    "Filter by host, connection and queue; page with `cursor` (the previous page's `nextCursor`).",
  ...withRole('viewer'),
  request: { query: DeadLetterQuerySchema },
  responses: {
    200: jsonResponse(DeadLetterListSchema, 'A page of rows set aside'),
    ...errorResponses(400, 401, 403),
  },
});

export const recorder = createRouter().openapi(listRoute, async (c) => {
  const query = c.req.valid('query');
  const { deadLetters, nextCursor } = await listDeadLetters(c.get('services').db, {
    hostId: query.host,
    connection: query.connection,
    queue: query.queue,
    before: query.cursor === undefined ? undefined : Number(query.cursor),
    limit: query.limit,
  });
  return c.json({ deadLetters, nextCursor: nextCursor === null ? null : String(nextCursor) }, 200);
});
