import { createRoute, z } from '@hono/zod-openapi';
import { isCommandId } from '../../core/bus/validation';
import { createRouter } from '../app';
import { answerCommand, WaitSecondsSchema } from '../commands/command-answer';
import { CommandResponseSchema, commandBody, progressOf } from '../commands/command-view';
import { waitForCommand } from '../commands/wait-for-command';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { errorResponses, jsonResponse, UuidParams } from '../schemas/common';

const DEFAULT_WAIT_SECONDS = 10;

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['commands'],
  summary: 'A command: its status, result or error, and for bulk commands their progress',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { params: UuidParams },
  responses: {
    200: jsonResponse(CommandResponseSchema, 'The command'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const waitRoute = createRoute({
  method: 'get',
  path: '/{id}/wait',
  tags: ['commands'],
  summary: "Wait up to `timeout` seconds for a command's answer",
  description:
    '200 once a host answered (done or failed); 202 with `timedOut: true` if it is still pending or claimed; ' +
    '409 `conflict` if it expired (no host claimed it in time; it will never run).',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: {
    params: UuidParams,
    query: z.strictObject({
      timeout: WaitSecondsSchema.default(DEFAULT_WAIT_SECONDS).openapi({
        description: `Seconds to wait (default ${DEFAULT_WAIT_SECONDS}, at most 25)`,
      }),
    }),
  },
  responses: {
    200: jsonResponse(CommandResponseSchema, 'Answered: command.status is done or failed'),
    202: jsonResponse(CommandResponseSchema, 'Still open when the timeout ran out'),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No command ${id} (finished commands are kept for 7 days)`);
}

export const commands = createRouter()
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const bus = c.get('services').bus;
    const command = isCommandId(id) ? await bus.find(id) : null;
    if (!command) throw notFound(id);
    return c.json({ command: commandBody(command, await progressOf(bus, command)) }, 200);
  })
  .openapi(waitRoute, async (c) => {
    const { id } = c.req.valid('param');
    const command = await waitForCommand(
      c.get('services').bus,
      id,
      c.req.valid('query').timeout,
      c.req.raw.signal,
    );
    if (!command) throw notFound(id);
    return answerCommand(c, command, true);
  });
