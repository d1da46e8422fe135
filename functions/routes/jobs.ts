import { createRoute, z } from '@hono/zod-openapi';
import { etag } from 'hono/etag';
import type { StatementDatabase } from '../../core/db/database';
import { createRouter } from '../app';
import { HttpError } from '../http-error';
import { requireRole } from '../middleware/require-role';
import { decodeJobCursor } from '../queries/job-cursor';
import { findJob, type JobRef } from '../queries/job-detail';
import { JobDetailSchema, JobListSchema, JobStatusSchema } from '../queries/job-schemas';
import { listJobs } from '../queries/list-jobs';
import {
  CursorParam,
  IsoDateTime,
  JobRowParams,
  JobTimestampParam,
  NameText,
  PageLimitSchema,
  SearchParam,
  SortSchema,
  targetId,
} from '../queries/params';
import { errorResponses, jsonResponse, singleLineText } from '../schemas/common';

const ListQuerySchema = z.strictObject({
  status: JobStatusSchema.optional(),
  queue: NameText.optional(),
  connection: targetId('Connection name').optional(),
  name: NameText.optional().openapi({ description: "The job's name, exact" }),
  from: IsoDateTime.optional().openapi({ description: 'Queued at or after' }),
  to: IsoDateTime.optional().openapi({ description: 'Queued before' }),
  q: SearchParam.optional().openapi({
    description:
      'Text in the job id, name, exception or the first 256 characters of its data (case-insensitive)',
  }),
  cursor: CursorParam.optional(),
  sort: SortSchema,
  limit: PageLimitSchema,
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['jobs'],
  summary: 'Jobs, newest (or oldest) first, filtered and searched, paged by key',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(JobListSchema, 'A page of jobs'), ...errorResponses(400, 401, 403) },
});

const detailRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['jobs'],
  summary: 'One job by row id, with its data, attempts and timeline',
  description:
    'Answers with an ETag; send it back in If-None-Match and an unchanged job is a body-less 304. The job page ' +
    'polls this: a payload of several MB then crosses the network and the browser once, not at every poll.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer'), etag()],
  request: { params: JobRowParams },
  responses: {
    200: jsonResponse(JobDetailSchema, 'The job'),
    304: { description: 'Unchanged since the ETag sent in If-None-Match' },
    ...errorResponses(400, 401, 403, 404),
  },
});

const byKeyRoute = createRoute({
  method: 'get',
  path: '/{connection}/{queue}/{jobId}',
  tags: ['jobs'],
  summary: "One job by BullMQ's key: connection, queue and job id (URL-encoded)",
  description:
    'BullMQ gives the id of a removed job to the next job added with it (a custom jobId): the answer is the ' +
    'newest job of the id, and its `generations` list them all; `timestamp` picks one by its `jobTimestamp`.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer')],
  request: {
    params: z.object({
      connection: targetId('Connection name'),
      queue: NameText,
      jobId: singleLineText({ min: 1, max: 200 }).openapi({ description: "BullMQ's job id" }),
    }),
    query: z.strictObject({
      timestamp: JobTimestampParam.optional().openapi({
        description: "The job's `jobTimestamp`: which of the jobs that had this id (default: the newest)",
      }),
    }),
  },
  responses: { 200: jsonResponse(JobDetailSchema, 'The job'), ...errorResponses(400, 401, 403, 404) },
});

async function detail(db: StatementDatabase, ref: JobRef) {
  const job = await findJob(db, ref);
  if (!job) {
    const name =
      'id' in ref
        ? `${ref.id}`
        : `${ref.jobId} in queue ${ref.queue} (connection ${ref.connection})` +
          (ref.timestamp === undefined ? '' : ` with timestamp ${ref.timestamp}`);
    throw new HttpError(404, 'not_found', `No job ${name}`);
  }
  return job;
}

export const jobs = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listJobs(c.get('services').db, {
      status: query.status,
      queue: query.queue,
      connection: query.connection,
      name: query.name,
      from: query.from,
      to: query.to,
      search: query.q,
      cursor: query.cursor === undefined ? undefined : decodeJobCursor(query.cursor),
      sort: query.sort,
      limit: query.limit,
    });
    return c.json(page, 200);
  })
  .openapi(detailRoute, async (c) => {
    const job = await detail(c.get('services').db, { id: c.req.valid('param').id });
    c.header('Cache-Control', 'private, no-cache');
    return c.json(job, 200);
  })
  .openapi(byKeyRoute, async (c) =>
    c.json(
      await detail(c.get('services').db, {
        ...c.req.valid('param'),
        timestamp: c.req.valid('query').timestamp,
      }),
      200,
    ),
  );
