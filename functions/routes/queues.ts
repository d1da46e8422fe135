import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { etag } from 'hono/etag';
import { commandDefinitions } from '../../core/commands/command-types';
import { createRouter } from '../app';
import { commandResponses, type SendQuery, SendQuerySchema } from '../commands/command-answer';
import { findPending, subjects } from '../commands/pending-requests';
import { sendCommand } from '../commands/send-command';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { NameText, refuseControlCharacters } from '../queries/params';
import { listQueues, QueueSchema, queueKnown } from '../queries/queues';
import { errorResponses, jsonResponse } from '../schemas/common';

const QueueListSchema = z.object({ queues: z.array(QueueSchema) }).openapi('QueueList');

const QueueParams = z.object({ queue: NameText.openapi({ param: { name: 'queue', in: 'path' } }) });

// `.meta`, not `.openapi`: the worker-host's schemas are built with plain zod, which
// @hono/zod-openapi may not have extended (their instances can lack `.openapi`).
const QueueBodySchema = refuseControlCharacters(
  commandDefinitions['queue.pause'].args.omit({ queue: true }),
).meta({ id: 'QueueCommandRequest', description: 'Optional: `connection` (default `default`)' });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['queues'],
  summary:
    'Queues with their depth, recorded jobs by state, oldest wait, last hour and confirmed paused state, with any pending pause/resume',
  description:
    'Answers with an ETag (the dashboard polls it); send it back in If-None-Match and an unchanged list is a body-less 304.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer'), etag()],
  responses: {
    200: jsonResponse(QueueListSchema, 'The queues'),
    304: { description: 'Unchanged since the ETag sent in If-None-Match' },
    ...errorResponses(401, 403),
  },
});

function verbRoute(verb: 'pause' | 'resume') {
  return createRoute({
    method: 'post',
    path: `/{queue}/${verb}`,
    tags: ['queues'],
    summary: `${verb === 'pause' ? 'Pause' : 'Resume'} a queue for every worker (command queue.${verb})`,
    description: 'Goes to any host that reaches the connection. The queue name is URL-encoded in the path.',
    'x-required-role': 'operator',
    middleware: [requireRole('operator')],
    request: {
      params: QueueParams,
      query: SendQuerySchema,
      body: { required: false, content: { 'application/json': { schema: QueueBodySchema } } },
    },
    responses: commandResponses(404, 413, 415),
  });
}

/** Sends queue.pause or queue.resume to any host that reaches the connection. */
async function queueCommand(
  c: Context<AppEnv>,
  verb: 'pause' | 'resume',
  queue: string,
  connection: string,
  options: SendQuery,
) {
  if (!(await queueKnown(c.get('services').db, connection, queue))) {
    throw new HttpError(404, 'not_found', `No queue ${queue} on connection ${connection}`);
  }
  return sendCommand(
    c,
    {
      target: { kind: 'connection', id: connection },
      type: `queue.${verb}`,
      args: { queue, connection },
      audit: { action: `queues.${verb}`, targetType: 'queue', targetId: `${connection}/${queue}` },
    },
    options,
  );
}

// Chained, not added in a loop, so the dashboard's typed client (hc<AppType>) sees every route.
export const queues = createRouter()
  .openapi(listRoute, async (c) => {
    const queues = await listQueues(c.get('services').db);
    const pending = await findPending(
      c,
      queues.map((queue) => subjects.queue(queue.connection, queue.queue)),
    );
    c.header('Cache-Control', 'private, no-cache');
    return c.json(
      {
        queues: queues.map((queue) => ({
          ...queue,
          pending: pending.get(subjects.queue(queue.connection, queue.queue).key) ?? null,
        })),
      },
      200,
    );
  })
  .openapi(verbRoute('pause'), (c) =>
    queueCommand(
      c,
      'pause',
      c.req.valid('param').queue,
      c.req.valid('json').connection ?? 'default',
      c.req.valid('query'),
    ),
  )
  .openapi(verbRoute('resume'), (c) =>
    queueCommand(
      c,
      'resume',
      c.req.valid('param').queue,
      c.req.valid('json').connection ?? 'default',
      c.req.valid('query'),
    ),
  );
