import { createRoute, type z } from '@hono/zod-openapi';
import { commandDefinitions, failedJobFilterSchema } from '../../core/commands/command-types';
import { createRouter } from '../app';
import { commandResponses, SendQuerySchema } from '../commands/command-answer';
import { sendCommand } from '../commands/send-command';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { countFailed, FailedCountSchema } from '../queries/failed-count';
import { decodeJobCursor } from '../queries/job-cursor';
import { findJob } from '../queries/job-detail';
import { JobListSchema } from '../queries/job-schemas';
import { listJobs } from '../queries/list-jobs';
import {
  CursorParam,
  IsoDateTime,
  JobRowParams,
  PageLimitSchema,
  refuseControlCharacters,
  SearchParam,
  SortSchema,
} from '../queries/params';
import { errorResponses, jsonResponse } from '../schemas/common';

/**
 * Failed jobs. The list takes exactly the bulk commands' filter (failedJobFilterSchema), so
 * "retry every job matching this filter" acts on the jobs the list shows; its `search` looks at
 * the job id, name and exception, like the worker-host's bulk walk does.
 */

/**
 * The bulk commands' filter with request-side dates: the worker-host's schema takes any ISO
 * date-time, but year 0 would fail in Postgres (a 500 for the list, a doomed command for a bulk).
 */
const FailedFilterSchema = failedJobFilterSchema.extend({
  failedAfter: IsoDateTime.optional(),
  failedBefore: IsoDateTime.optional(),
});

const ListQuerySchema = refuseControlCharacters(
  FailedFilterSchema.extend({
    // Stricter than the bulk filter: a list answers within its time budget only through the index.
    search: SearchParam.optional(),
    cursor: CursorParam.optional(),
    sort: SortSchema,
    limit: PageLimitSchema,
  }),
);

const CountQuerySchema = refuseControlCharacters(
  FailedFilterSchema.extend({ search: SearchParam.optional() }),
);

// `.meta`, not `.openapi`: the worker-host's schemas are built with plain zod, which
// @hono/zod-openapi may not have extended (their instances can lack `.openapi`).
const BulkBodySchema = refuseControlCharacters(
  // `filter` required here (the command defaults it to {}): `{}` must not retry every failed job
  // by accident; `{ "filter": {} }` says so on purpose.
  commandDefinitions['failed.retry-all'].args.extend({ filter: FailedFilterSchema }),
).meta({
  id: 'FailedBulkRequest',
  description:
    'Every failed job matching `filter` (fields combine with AND; `{}` matches all), at most `limit` of them',
});

const operator = { 'x-required-role': 'operator', middleware: [requireRole('operator')] };

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['failed'],
  summary: 'Failed jobs, newest first, paged by key',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(JobListSchema, 'A page of failed jobs'), ...errorResponses(400, 401, 403) },
});

const countRoute = createRoute({
  method: 'get',
  path: '/count',
  tags: ['failed'],
  summary: 'How many failed jobs match a filter (exact up to 1,000, else a lower bound)',
  description:
    "The list's filter without paging: what a bulk retry or delete with this filter would touch now " +
    '(those act on one connection: `connection`, or `default`).',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { query: CountQuerySchema },
  responses: { 200: jsonResponse(FailedCountSchema, 'The count'), ...errorResponses(400, 401, 403) },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/{id}/retry',
  tags: ['failed'],
  summary: 'Retry one failed job (command job.retry to a host that reaches its connection)',
  description:
    'The host retries this job only: it refuses when the job is no longer failed, or when its id now holds ' +
    "another job (BullMQ gives a removed job's id to the next job added with it).",
  ...operator,
  request: { params: JobRowParams, query: SendQuerySchema },
  responses: commandResponses(404),
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['failed'],
  summary: 'Delete one failed job from its queue (command job.delete)',
  description:
    'The host removes this job only: it refuses when its id now holds another job (BullMQ gives a removed ' +
    "job's id to the next job added with it).",
  ...operator,
  request: { params: JobRowParams, query: SendQuerySchema },
  responses: commandResponses(404),
});

function bulkRoute(verb: 'retry' | 'delete') {
  return createRoute({
    method: 'post',
    path: `/${verb}`,
    tags: ['failed'],
    summary: `${verb === 'retry' ? 'Retry' : 'Delete'} every failed job matching a filter (command failed.${verb}-all)`,
    description:
      'Acts on one connection: `filter.connection`, or `default`. The host walks the matching jobs in batches; ' +
      'follow the command (GET /api/commands/{id}) for its status and `progress`; its result is the final count.',
    ...operator,
    request: {
      query: SendQuerySchema,
      body: { required: true, content: { 'application/json': { schema: BulkBodySchema } } },
    },
    responses: commandResponses(413, 415),
  });
}

const retryAllRoute = bulkRoute('retry');
const deleteAllRoute = bulkRoute('delete');

async function failedJob(db: Parameters<typeof findJob>[0], id: number) {
  const job = await findJob(db, { id });
  if (!job) throw new HttpError(404, 'not_found', `No job ${id}`);
  if (job.status !== 'failed') {
    throw new HttpError(409, 'conflict', `Job ${id} is ${job.status}, not failed`);
  }
  return job;
}

export const failed = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listJobs(c.get('services').db, {
      status: 'failed',
      queue: query.queue,
      connection: query.connection,
      name: query.name,
      failedAfter: query.failedAfter,
      failedBefore: query.failedBefore,
      search: query.search,
      cursor: query.cursor === undefined ? undefined : decodeJobCursor(query.cursor),
      sort: query.sort,
      limit: query.limit,
    });
    return c.json(page, 200);
  })
  .openapi(countRoute, async (c) =>
    c.json(await countFailed(c.get('services').db, c.req.valid('query')), 200),
  )
  .openapi(retryRoute, async (c) => {
    const job = await failedJob(c.get('services').db, c.req.valid('param').id);
    return sendCommand(
      c,
      {
        target: { kind: 'connection', id: job.connection },
        type: 'job.retry',
        // This job alone: not another that took its id since, nor this one once it no longer failed.
        args: {
          queue: job.queue,
          jobId: job.jobId,
          connection: job.connection,
          timestamp: job.jobTimestamp,
          state: 'failed',
        },
        audit: { action: 'failed.retry', targetType: 'job', targetId: String(job.id) },
      },
      c.req.valid('query'),
    );
  })
  .openapi(deleteRoute, async (c) => {
    const job = await failedJob(c.get('services').db, c.req.valid('param').id);
    return sendCommand(
      c,
      {
        target: { kind: 'connection', id: job.connection },
        type: 'job.delete',
        args: { queue: job.queue, jobId: job.jobId, connection: job.connection, timestamp: job.jobTimestamp },
        audit: { action: 'failed.delete', targetType: 'job', targetId: String(job.id) },
      },
      c.req.valid('query'),
    );
  })
  .openapi(retryAllRoute, async (c) => bulk(c, 'failed.retry-all', c.req.valid('json'), c.req.valid('query')))
  .openapi(deleteAllRoute, async (c) =>
    bulk(c, 'failed.delete-all', c.req.valid('json'), c.req.valid('query')),
  );

function bulk(
  c: Parameters<typeof sendCommand>[0],
  type: 'failed.retry-all' | 'failed.delete-all',
  body: z.infer<typeof BulkBodySchema>,
  query: z.infer<typeof SendQuerySchema>,
) {
  // One connection per command: the host that claims it must reach the jobs' queues.
  const connection = body.filter.connection ?? 'default';
  return sendCommand(
    c,
    {
      target: { kind: 'connection', id: connection },
      type,
      args: { filter: { ...body.filter, connection }, limit: body.limit },
      audit: { action: type, targetType: 'connection', targetId: connection },
    },
    query,
  );
}
