import { createRoute, z } from '@hono/zod-openapi';
import { etag } from 'hono/etag';
import { createRouter } from '../app';
import { busDriver } from '../bus';
import { findPending, subjects } from '../commands/pending-requests';
import { requireRole } from '../middleware/require-role';
import { JobSummarySchema } from '../queries/job-schemas';
import { JobStatsSchema } from '../queries/job-stats';
import { pollSnapshot } from '../queries/poll';
import { WorkerSchema } from '../queries/workers';
import { errorResponses, jsonResponse } from '../schemas/common';

const RECENT_JOBS = 10;
const WORKERS = 100;

// No heartbeat ages here: they change every second and would make every poll a new body. The
// dashboard ages `lastHeartbeat` against the response's Date header.
const PollWorkerSchema = WorkerSchema.omit({ heartbeatAgeSeconds: true }).openapi('PollWorker');

const PollSchema = z
  .object({
    stats: JobStatsSchema,
    recentJobs: z.array(JobSummarySchema),
    workers: z.array(PollWorkerSchema).openapi({ description: `Up to ${WORKERS} workers that are not dead` }),
  })
  .openapi('Poll');

const pollRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['dashboard'],
  summary: "The dashboard's poll: headline stats, the newest jobs, the workers",
  description:
    'Cheap by construction: one statement; counts are exact up to 1000 and planner estimates above (listed in ' +
    'stats.estimated) or, where the planner knows no more, lower bounds (stats.lower_bound), last-hour figures come from the per-minute rollups, the jobs are one short index walk. ' +
    'Answers with an ETag; send it back in If-None-Match and an unchanged poll is a body-less 304.',
  'x-required-role': 'viewer',
  middleware: [requireRole('viewer'), etag()],
  responses: {
    200: jsonResponse(PollSchema, 'The snapshot'),
    304: { description: 'Unchanged since the ETag sent in If-None-Match' },
    ...errorResponses(401, 403),
  },
});

export const poll = createRouter().openapi(pollRoute, async (c) => {
  const snapshot = await pollSnapshot(c.get('services').db, {
    recentJobs: RECENT_JOBS,
    workers: { limit: WORKERS },
    openCommands: busDriver(c.env) === 'database',
  });
  const pending = await findPending(
    c,
    snapshot.workers.map((worker) => subjects.worker(worker.workerId, worker.hostId)),
    snapshot.openCommands,
  );
  c.header('Cache-Control', 'private, no-cache');
  return c.json(
    {
      stats: snapshot.stats,
      recentJobs: snapshot.recentJobs,
      workers: snapshot.workers.map(({ heartbeatAgeSeconds: _, ...worker }) => ({
        ...worker,
        pending: pending.get(subjects.worker(worker.workerId, worker.hostId).key) ?? null,
      })),
    },
    200,
  );
});
