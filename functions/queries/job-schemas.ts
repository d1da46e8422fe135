import { z } from '@hono/zod-openapi';
import { jobs } from '../../drizzle/schema';
import { TimestampSchema } from '../schemas/common';

/** Response schemas of the jobs and failed routes (they validate nothing: they document). */

export const JOB_STATUSES = jobs.status.enumValues;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JobStatusSchema = z.enum(JOB_STATUSES).openapi('JobStatus');

export const JobSummarySchema = z
  .object({
    id: z
      .number()
      .int()
      .openapi({ description: "Watchtower's row id: what /api/jobs/{id} and /api/failed/{id} take" }),
    jobId: z.string().openapi({
      description:
        "BullMQ's job id: unique within its connection and queue among the jobs BullMQ holds at one time. " +
        "A removed job's id can be given to a new job (a custom jobId): `jobTimestamp` tells them apart",
    }),
    jobTimestamp: z
      .number()
      .int()
      .openapi({
        description:
          "BullMQ's timestamp of the job (job.timestamp: when it was added, ms since the epoch); with the job id, " +
          'what names this job and no other',
      }),
    queue: z.string(),
    connection: z.string(),
    name: z.string(),
    status: JobStatusSchema,
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    workerId: z.string().nullable(),
    exception: z
      .string()
      .nullable()
      .openapi({ description: 'The first 500 characters; the detail has all of it' }),
    queuedAt: TimestampSchema,
    startedAt: TimestampSchema.nullable(),
    completedAt: TimestampSchema.nullable(),
    waitMs: z.number().int().nullable(),
    runMs: z.number().int().nullable(),
    dataSize: z.number().int().openapi({ description: "Bytes of the job's data as BullMQ had it" }),
    payloadTruncated: z.boolean().openapi({
      description:
        "The stored payload was cut down to the host's cap (recorder.maxPayloadBytes: 16 KB by default, at most 8 MB) or to 100 levels of nesting",
    }),
    sanitized: z.boolean().openapi({
      description:
        'Some of the recorded text (data, name, exception, result) held what Postgres cannot store (NUL, a lone ' +
        'surrogate: replaced by U+FFFD), or a value JSON cannot hold (kept as a marker)',
    }),
    retryOf: z.number().int().nullable().openapi({ description: 'Row id of the job this one re-adds' }),
  })
  .openapi('JobSummary');
export type JobSummary = z.infer<typeof JobSummarySchema>;

export const JobListSchema = z
  .object({
    jobs: z.array(JobSummarySchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null on the last page' }),
  })
  .openapi('JobList');

export const JobAttemptSchema = z
  .object({
    attempt: z.number().int(),
    status: z.enum(['processing', 'completed', 'failed', 'stalled']),
    workerId: z.string().nullable(),
    hostId: z.string().nullable(),
    startedAt: TimestampSchema.nullable().openapi({
      description:
        'Null for a run cut off with its host before its start was recorded (status `stalled`: BullMQ found it stalled and ran the job again)',
    }),
    finishedAt: TimestampSchema.nullable(),
    runMs: z.number().int().nullable(),
    errorMessage: z.string().nullable(),
    errorStack: z.string().nullable(),
  })
  .openapi('JobAttempt');
export type JobAttempt = z.infer<typeof JobAttemptSchema>;

export const TimelineEventSchema = z
  .object({
    at: TimestampSchema,
    event: z.enum(['queued', 'started', 'completed', 'failed', 'stalled']),
    attempt: z.number().int().nullable(),
    workerId: z.string().nullable(),
    message: z.string().nullable(),
  })
  .openapi('JobTimelineEvent');
export type TimelineEvent = z.infer<typeof TimelineEventSchema>;

export const JobGenerationSchema = z
  .object({
    id: z.number().int(),
    jobTimestamp: z.number().int(),
    status: JobStatusSchema,
    queuedAt: TimestampSchema,
  })
  .openapi('JobGeneration');
export type JobGeneration = z.infer<typeof JobGenerationSchema>;

export const JobDetailSchema = JobSummarySchema.extend({
  exception: z.string().nullable().openapi({ description: 'In full' }),
  hostId: z
    .string()
    .nullable()
    .openapi({
      description:
        'The host of the worker process that ran the job last (`workerId`): from the worker, else from its attempt; ' +
        'null when neither is recorded. The dashboard links to it: /workers?host=<hostId>&worker=<workerId>',
    }),
  payload: z.unknown().openapi({ description: "The job's data as stored (capped: see payloadTruncated)" }),
  result: z.unknown(),
  updatedAt: TimestampSchema,
  attemptHistory: z
    .array(JobAttemptSchema)
    .openapi({ description: 'Each run of the job by a worker, oldest first' }),
  timeline: z.array(TimelineEventSchema).openapi({ description: 'Oldest first' }),
  generations: z.array(JobGenerationSchema).openapi({
    description:
      'Every job recorded under this job id in its queue and connection, this one included, newest first ' +
      '(at most 50). BullMQ gives the id of a removed job to the next job added with it (a custom jobId), ' +
      'and each is a job of its own: pick one by `id`, or by key with `?timestamp=<jobTimestamp>`',
  }),
}).openapi('JobDetail');
export type JobDetail = z.infer<typeof JobDetailSchema>;
