import { createRoute, z } from '@hono/zod-openapi';
import { commandDefinitions } from '../../core/commands/command-types';
import { createRouter } from '../app';
import { commandResponses, type SendQuery, SendQuerySchema } from '../commands/command-answer';
import { findPending, subjects } from '../commands/pending-requests';
import { sendCommand } from '../commands/send-command';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { findHost, HOST_STATUSES, HostSchema, isLiveHost, listHosts } from '../queries/hosts';
import { targetId, wholeNumber } from '../queries/params';
import { errorResponses, jsonResponse } from '../schemas/common';

const ListQuerySchema = z.strictObject({
  status: z
    .enum(HOST_STATUSES)
    .optional()
    .openapi({ description: 'Default: the live ones (not dead or stopped)' }),
  limit: wholeNumber(1, 1000).default(200),
});

const HostListSchema = z
  .object({
    hosts: z.array(HostSchema).openapi({ description: 'Most recently heard from first' }),
    truncated: z.boolean(),
  })
  .openapi('HostList');

const HostParams = z.object({ id: targetId('Host id').openapi({ param: { name: 'id', in: 'path' } }) });

// `.meta`, not `.openapi`: the worker-host's schemas are built with plain zod, which
// @hono/zod-openapi may not have extended (their instances can lack `.openapi`).
const TerminateBodySchema = commandDefinitions['host.terminate'].args.meta({ id: 'TerminateHostRequest' });

const operator = { 'x-required-role': 'operator', middleware: [requireRole('operator')] };

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['hosts'],
  summary: 'Worker-hosts with their supervisors, worker counts and pending request',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(HostListSchema, 'The hosts'), ...errorResponses(400, 401, 403) },
});

const terminateRoute = createRoute({
  method: 'post',
  path: '/{id}/terminate',
  tags: ['hosts'],
  summary: 'Terminate a host gracefully (command host.terminate)',
  description:
    'Optional body `{ graceSeconds }`: how long current jobs get before their processes are killed.',
  ...operator,
  request: {
    params: HostParams,
    query: SendQuerySchema,
    body: { required: false, content: { 'application/json': { schema: TerminateBodySchema } } },
  },
  responses: commandResponses(404, 413, 415),
});

// The path's literal type (e.g. `/{id}/reload`) reaches the app's type, so the dashboard's typed
// client knows each route.
function simpleRoute<V extends 'reload' | 'restart'>(verb: V) {
  return createRoute({
    method: 'post',
    path: `/{id}/${verb}` as `/{id}/${V}`,
    tags: ['hosts'],
    summary:
      verb === 'reload'
        ? 'Read the configuration file again and apply it (command host.reload)'
        : 'Restart every worker process of the host gracefully (command host.restart)',
    ...operator,
    request: { params: HostParams, query: SendQuerySchema },
    responses: commandResponses(404),
  });
}

async function hostCommand(
  c: Parameters<typeof sendCommand>[0],
  verb: 'reload' | 'restart',
  id: string,
  query: SendQuery,
) {
  await liveHost(c, id);
  return sendCommand(
    c,
    {
      target: { kind: 'host', id },
      type: `host.${verb}`,
      args: {},
      audit: { action: `hosts.${verb}`, targetType: 'host', targetId: id },
    },
    query,
  );
}

async function liveHost(c: Parameters<typeof sendCommand>[0], id: string) {
  const host = await findHost(c.get('services').db, id);
  if (!host) throw new HttpError(404, 'not_found', `No host ${id}`);
  if (!isLiveHost(host.status)) {
    throw new HttpError(409, 'conflict', `Host ${id} is ${host.status}: nothing would carry out the command`);
  }
  return host;
}

const router = createRouter()
  .openapi(listRoute, async (c) => {
    const { hosts, truncated } = await listHosts(c.get('services').db, c.req.valid('query'));
    const pending = await findPending(
      c,
      hosts.map((host) => subjects.host(host.hostId)),
    );
    return c.json(
      {
        hosts: hosts.map((host) => ({
          ...host,
          pending: pending.get(subjects.host(host.hostId).key) ?? null,
        })),
        truncated,
      },
      200,
    );
  })
  .openapi(terminateRoute, async (c) => {
    const { id } = c.req.valid('param');
    await liveHost(c, id);
    return sendCommand(
      c,
      {
        target: { kind: 'host', id },
        type: 'host.terminate',
        args: c.req.valid('json'),
        audit: { action: 'hosts.terminate', targetType: 'host', targetId: id },
      },
      c.req.valid('query'),
    );
  })
  .openapi(simpleRoute('reload'), (c) =>
    hostCommand(c, 'reload', c.req.valid('param').id, c.req.valid('query')),
  )
  .openapi(simpleRoute('restart'), (c) =>
    hostCommand(c, 'restart', c.req.valid('param').id, c.req.valid('query')),
  );

export const hosts = router;
