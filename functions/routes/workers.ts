import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { commandDefinitions } from '../../core/commands/command-types';
import { createRouter } from '../app';
import { commandResponses, type SendQuery, SendQuerySchema } from '../commands/command-answer';
import { findPending, subjects } from '../commands/pending-requests';
import { sendCommand } from '../commands/send-command';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { findHost, isLiveHost } from '../queries/hosts';
import { NameText, refuseControlCharacters, targetId, wholeNumber } from '../queries/params';
import { listSupervisors } from '../queries/supervisors';
import { findWorker, listWorkers, WORKER_STATUSES, WorkerSchema } from '../queries/workers';
import { errorResponses, jsonResponse } from '../schemas/common';

const ListQuerySchema = z.strictObject({
  status: z.enum(WORKER_STATUSES).optional().openapi({ description: 'Default: every status but dead' }),
  host: targetId('Host id').optional(),
  supervisor: targetId('Supervisor name').optional(),
  queue: NameText.optional(),
  limit: wholeNumber(1, 1000).default(500),
});

const WorkerListSchema = z
  .object({
    workers: z.array(WorkerSchema).openapi({ description: 'By host, supervisor, queue and worker id' }),
    truncated: z.boolean().openapi({ description: 'More workers match than `limit`' }),
  })
  .openapi('WorkerList');

// `.meta`, not `.openapi`: the worker-host's schemas are built with plain zod, which
// @hono/zod-openapi may not have extended (their instances can lack `.openapi`).
const StartBodySchema = refuseControlCharacters(
  commandDefinitions['worker.start'].args.extend({
    host: targetId('Start it on this host (default: any host running the supervisor)').optional(),
  }),
).meta({ id: 'StartWorkerRequest' });

const WorkerParams = z.object({
  id: targetId('Worker id').openapi({ param: { name: 'id', in: 'path' } }),
});

const operator = { 'x-required-role': 'operator', middleware: [requireRole('operator')] };

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['workers'],
  summary: 'Worker processes with their confirmed status, heartbeat age, current job and pending request',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(WorkerListSchema, 'The workers'), ...errorResponses(400, 401, 403) },
});

const startRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['workers'],
  summary: 'Start one more worker process on a queue (command worker.start)',
  description:
    'Goes to `host` when given, else to the supervisor named (any host running it), else to the one ' +
    'supervisor that serves the queue (409 when none or several do).',
  ...operator,
  request: {
    query: SendQuerySchema,
    body: { required: true, content: { 'application/json': { schema: StartBodySchema } } },
  },
  responses: commandResponses(404, 413, 415),
});

const VERBS = ['stop', 'pause', 'resume', 'restart'] as const;
type Verb = (typeof VERBS)[number];

const SUMMARIES: Record<Verb, string> = {
  stop: 'Stop a worker once its current jobs finish (command worker.stop)',
  pause: 'Pause a worker: it takes no new jobs (command worker.pause)',
  resume: 'Resume a paused worker (command worker.resume)',
  restart: 'Restart a worker process, or start a stopped one again (command worker.restart)',
};

// The path's literal type (e.g. `/{id}/pause`) reaches the app's type, so the dashboard's typed
// client knows each route.
function verbRoute<V extends Verb>(verb: V) {
  return createRoute({
    method: 'post',
    path: `/{id}/${verb}` as `/{id}/${V}`,
    tags: ['workers'],
    summary: SUMMARIES[verb],
    description:
      'Sent to the worker itself (its host claims it). 409 for a dead worker: nothing would carry it out.',
    ...operator,
    request: { params: WorkerParams, query: SendQuerySchema },
    responses: commandResponses(404),
  });
}

async function controlWorker(c: Context<AppEnv>, verb: Verb, id: string, query: SendQuery) {
  const worker = await findWorker(c.get('services').db, id);
  if (!worker) throw new HttpError(404, 'not_found', `No worker ${id}`);
  if (worker.status === 'dead') {
    throw new HttpError(
      409,
      'conflict',
      `Worker ${id} is dead (its host stopped reporting): no host would carry out worker.${verb}`,
    );
  }
  return sendCommand(
    c,
    {
      target: { kind: 'worker', id },
      type: `worker.${verb}`,
      args: {},
      audit: { action: `workers.${verb}`, targetType: 'worker', targetId: id },
    },
    query,
  );
}

const router = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const { workers, truncated } = await listWorkers(c.get('services').db, query);
    const pending = await findPending(
      c,
      workers.map((worker) => subjects.worker(worker.workerId, worker.hostId)),
    );
    return c.json(
      {
        workers: workers.map((worker) => ({
          ...worker,
          pending: pending.get(subjects.worker(worker.workerId, worker.hostId).key) ?? null,
        })),
        truncated,
      },
      200,
    );
  })
  .openapi(startRoute, async (c) => {
    const { host, ...args } = c.req.valid('json');
    const db = c.get('services').db;
    if (host !== undefined) {
      const found = await findHost(db, host);
      if (!found) throw new HttpError(404, 'not_found', `No host ${host}`);
      if (!isLiveHost(found.status)) throw new HttpError(409, 'conflict', `Host ${host} is ${found.status}`);
      return sendCommand(
        c,
        {
          target: { kind: 'host', id: host },
          type: 'worker.start',
          args,
          audit: { action: 'workers.start', targetType: 'queue', targetId: args.queue },
        },
        c.req.valid('query'),
      );
    }
    const supervisors = await listSupervisors(db);
    let name = args.supervisor;
    if (name !== undefined) {
      if (!supervisors.some((supervisor) => supervisor.name === name)) {
        throw new HttpError(404, 'not_found', `No live host runs a supervisor named ${name}`);
      }
    } else {
      const serving = supervisors.filter((supervisor) => supervisor.queues.includes(args.queue));
      if (serving.length !== 1) {
        const which =
          serving.length === 0
            ? 'no supervisor of a live host serves it'
            : `several do (${serving.map((s) => s.name).join(', ')})`;
        throw new HttpError(
          409,
          'conflict',
          `Cannot choose where to start a worker for queue ${args.queue}: ${which}; name a supervisor or a host`,
        );
      }
      name = serving[0]?.name ?? '';
    }
    return sendCommand(
      c,
      {
        target: { kind: 'supervisor', id: name },
        type: 'worker.start',
        args: { ...args, supervisor: name },
        audit: { action: 'workers.start', targetType: 'queue', targetId: args.queue },
      },
      c.req.valid('query'),
    );
  })
  .openapi(verbRoute('stop'), (c) => controlWorker(c, 'stop', c.req.valid('param').id, c.req.valid('query')))
  .openapi(verbRoute('pause'), (c) =>
    controlWorker(c, 'pause', c.req.valid('param').id, c.req.valid('query')),
  )
  .openapi(verbRoute('resume'), (c) =>
    controlWorker(c, 'resume', c.req.valid('param').id, c.req.valid('query')),
  )
  .openapi(verbRoute('restart'), (c) =>
    controlWorker(c, 'restart', c.req.valid('param').id, c.req.valid('query')),
  );

export const workers = router;
