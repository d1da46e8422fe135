import { createRoute, z } from '@hono/zod-openapi';
import { commandDefinitions } from '../../core/commands/command-types';
import { createRouter } from '../app';
import { commandResponses, type SendQuery, SendQuerySchema } from '../commands/command-answer';
import { findPending, subjects } from '../commands/pending-requests';
import { sendCommand } from '../commands/send-command';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { refuseControlCharacters, targetId } from '../queries/params';
import { listSupervisors, SupervisorSchema } from '../queries/supervisors';
import { errorResponses, jsonResponse } from '../schemas/common';

const SupervisorListSchema = z.object({ supervisors: z.array(SupervisorSchema) }).openapi('SupervisorList');

const NameParams = z.object({
  name: targetId('Supervisor name').openapi({ param: { name: 'name', in: 'path' } }),
});

// `.meta`, not `.openapi`: the worker-host's schemas are built with plain zod, which
// @hono/zod-openapi may not have extended (their instances can lack `.openapi`).
const ScaleBodySchema = refuseControlCharacters(commandDefinitions['supervisor.scale'].args).meta({
  id: 'ScaleSupervisorRequest',
});

const operator = { 'x-required-role': 'operator', middleware: [requireRole('operator')] };

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['supervisors'],
  summary: 'Supervisors of the live hosts, by name, with their instances per host and pending request',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  responses: { 200: jsonResponse(SupervisorListSchema, 'The supervisors'), ...errorResponses(401, 403) },
});

const scaleRoute = createRoute({
  method: 'post',
  path: '/{name}/scale',
  tags: ['supervisors'],
  summary: 'Set the number of worker processes (command supervisor.scale)',
  description:
    'Every live host running a supervisor of this name competes for the command; one carries it out.',
  ...operator,
  request: {
    params: NameParams,
    query: SendQuerySchema,
    body: { required: true, content: { 'application/json': { schema: ScaleBodySchema } } },
  },
  responses: commandResponses(404, 413, 415),
});

const VERBS = ['pause', 'continue', 'terminate'] as const;

type Verb = (typeof VERBS)[number];

// The path's literal type (e.g. `/{name}/pause`) reaches the app's type, so the dashboard's typed
// client knows each route.
function verbRoute<V extends Verb>(verb: V) {
  return createRoute({
    method: 'post',
    path: `/{name}/${verb}` as `/{name}/${V}`,
    tags: ['supervisors'],
    summary: `${verb[0]?.toUpperCase()}${verb.slice(1)} a supervisor's worker processes (command supervisor.${verb})`,
    ...operator,
    request: { params: NameParams, query: SendQuerySchema },
    responses: commandResponses(404),
  });
}

async function assertKnown(c: Parameters<typeof sendCommand>[0], name: string): Promise<void> {
  const supervisors = await listSupervisors(c.get('services').db);
  if (!supervisors.some((supervisor) => supervisor.name === name)) {
    throw new HttpError(404, 'not_found', `No live host runs a supervisor named ${name}`);
  }
}

async function supervisorCommand(
  c: Parameters<typeof sendCommand>[0],
  verb: Verb,
  name: string,
  query: SendQuery,
) {
  await assertKnown(c, name);
  return sendCommand(
    c,
    {
      target: { kind: 'supervisor', id: name },
      type: `supervisor.${verb}`,
      args: {},
      audit: { action: `supervisors.${verb}`, targetType: 'supervisor', targetId: name },
    },
    query,
  );
}

const router = createRouter()
  .openapi(listRoute, async (c) => {
    const supervisors = await listSupervisors(c.get('services').db);
    const pending = await findPending(
      c,
      supervisors.map((supervisor) => subjects.supervisor(supervisor.name)),
    );
    return c.json(
      {
        supervisors: supervisors.map((supervisor) => ({
          ...supervisor,
          pending: pending.get(subjects.supervisor(supervisor.name).key) ?? null,
        })),
      },
      200,
    );
  })
  .openapi(scaleRoute, async (c) => {
    const { name } = c.req.valid('param');
    await assertKnown(c, name);
    return sendCommand(
      c,
      {
        target: { kind: 'supervisor', id: name },
        type: 'supervisor.scale',
        args: c.req.valid('json'),
        audit: { action: 'supervisors.scale', targetType: 'supervisor', targetId: name },
      },
      c.req.valid('query'),
    );
  })
  .openapi(verbRoute('pause'), (c) =>
    supervisorCommand(c, 'pause', c.req.valid('param').name, c.req.valid('query')),
  )
  .openapi(verbRoute('continue'), (c) =>
    supervisorCommand(c, 'continue', c.req.valid('param').name, c.req.valid('query')),
  )
  .openapi(verbRoute('terminate'), (c) =>
    supervisorCommand(c, 'terminate', c.req.valid('param').name, c.req.valid('query')),
  );

export const supervisors = router;
