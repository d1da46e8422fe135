import { z } from '@hono/zod-openapi';
import {
  identifier,
  LABEL_MESSAGE,
  LABEL_PATTERN,
  processFloorProblem,
  processorPathProblem,
  repeatedQueues,
  SUPERVISOR_DEFAULTS,
  supervisorFields,
} from '../../core/config/supervisor-fields';
import { iso, LimitSchema, TimestampSchema } from './common';
import { CursorSchema } from './security';

/**
 * Request and response schemas of /api/supervisors/configs: supervisors kept in the database and
 * run by the hosts whose labels match. The settings have the bounds of the host's configuration
 * file (core/config/supervisor-fields.ts, shared with worker-host/config/config-schema.ts).
 */

const NameSchema = identifier.meta({ example: 'emails' });

const LabelSchema = z.string().regex(LABEL_PATTERN, LABEL_MESSAGE).meta({ example: 'eu' });

const ProcessorPathSchema = z
  .string()
  .superRefine((path, ctx) => {
    const problem = processorPathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ example: 'emails.mjs' });

// `*` names the module of every queue without its own.
const ProcessorKeySchema = z.union([z.literal('*'), identifier]);

const fields = {
  name: NameSchema,
  connection: identifier.meta({ description: 'The name of a connection (/api/connections)' }),
  queues: supervisorFields.queues,
  minProcesses: supervisorFields.minProcesses.default(SUPERVISOR_DEFAULTS.minProcesses),
  maxProcesses: supervisorFields.maxProcesses.optional(),
  balance: supervisorFields.balance.default(SUPERVISOR_DEFAULTS.balance),
  concurrency: supervisorFields.concurrency.default(SUPERVISOR_DEFAULTS.concurrency),
  tries: supervisorFields.tries.default(SUPERVISOR_DEFAULTS.tries),
  timeout: supervisorFields.timeout.default(SUPERVISOR_DEFAULTS.timeout),
  memory: supervisorFields.memory.default(SUPERVISOR_DEFAULTS.memory),
  sleep: supervisorFields.sleep.default(SUPERVISOR_DEFAULTS.sleep),
  rest: supervisorFields.rest.default(SUPERVISOR_DEFAULTS.rest),
  processors: z.record(ProcessorKeySchema, ProcessorPathSchema).meta({
    description:
      "Queue (or `*` for every other queue) → module path relative to the host's processors directory (`--processors-dir`). Absolute paths and `..` are refused; the host also refuses a path that resolves outside its directory.",
    example: { '*': 'emails.mjs' },
  }),
  labels: z.array(LabelSchema).max(32).default([]).meta({
    description:
      'Selector: a host runs this supervisor when its labels (`--labels`) include all of these; empty: every host that allows a processors directory.',
  }),
};

/** The checks that span fields, on the whole configuration (a change is checked once merged). */
const wholeConfig = z
  .strictObject(fields)
  .transform((config) => ({
    ...config,
    maxProcesses: config.maxProcesses ?? Math.max(config.minProcesses * config.queues.length, 1),
    labels: [...new Set(config.labels)].sort(),
  }))
  .superRefine((config, ctx) => {
    const floor = processFloorProblem(config.minProcesses, config.queues.length, config.maxProcesses);
    if (floor) ctx.addIssue({ code: 'custom', path: ['maxProcesses'], message: floor });
    for (const { index, queue } of repeatedQueues(config.queues)) {
      ctx.addIssue({ code: 'custom', path: ['queues', index], message: `lists "${queue}" twice` });
    }
    for (const key of Object.keys(config.processors)) {
      if (key !== '*' && !config.queues.includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['processors', key],
          message: `"${key}" is not one of the queues (${config.queues.join(', ')})`,
        });
      }
    }
    for (const [index, queue] of config.queues.entries()) {
      if (!Object.hasOwn(config.processors, queue) && !Object.hasOwn(config.processors, '*')) {
        ctx.addIssue({
          code: 'custom',
          path: ['queues', index],
          message: `queue "${queue}" has no processor: add processors["${queue}"] (or processors["*"])`,
        });
      }
    }
  });

export const CreateSupervisorConfigBodySchema = wholeConfig.openapi('CreateSupervisorConfigRequest');

export type SupervisorConfigInput = z.output<typeof CreateSupervisorConfigBodySchema>;

/** A change: only the fields given change; the result is checked as a whole. */
export const UpdateSupervisorConfigBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    connection: fields.connection.optional(),
    queues: supervisorFields.queues.optional(),
    minProcesses: supervisorFields.minProcesses.optional(),
    maxProcesses: supervisorFields.maxProcesses.optional(),
    balance: supervisorFields.balance.optional(),
    concurrency: supervisorFields.concurrency.optional(),
    tries: supervisorFields.tries.optional(),
    timeout: supervisorFields.timeout.optional(),
    memory: supervisorFields.memory.optional(),
    sleep: supervisorFields.sleep.optional(),
    rest: supervisorFields.rest.optional(),
    processors: fields.processors.optional(),
    labels: z.array(LabelSchema).max(32).optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'nothing to change')
  .openapi('UpdateSupervisorConfigRequest');

export type SupervisorConfigPatch = z.output<typeof UpdateSupervisorConfigBodySchema>;

export const SupervisorConfigSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    connection: z.string(),
    queues: z.array(z.string()),
    minProcesses: z.number().int(),
    maxProcesses: z.number().int(),
    balance: z.enum(['simple', 'auto']),
    concurrency: z.number().int(),
    tries: z.number().int(),
    timeout: z.number(),
    memory: z.number().int(),
    sleep: z.number(),
    rest: z.number(),
    processors: z.record(z.string(), z.string()),
    labels: z.array(z.string()),
    version: z.number().int().openapi({ description: 'Raised by every change of this supervisor' }),
    createdAt: TimestampSchema,
    createdBy: z.string(),
    updatedAt: TimestampSchema,
    updatedBy: z.string(),
  })
  .openapi('SupervisorConfig');

export type SupervisorConfigBody = z.infer<typeof SupervisorConfigSchema>;

export const ListSupervisorConfigsQuerySchema = z.object({
  cursor: CursorSchema.optional(),
  limit: LimitSchema,
});

export const SupervisorConfigListSchema = z
  .object({
    configs: z.array(SupervisorConfigSchema),
    nextCursor: z.string().nullable(),
    configVersion: z.number().int().openapi({
      description:
        'The version of the whole database configuration, raised by every change: hosts report the one they run',
    }),
  })
  .openapi('SupervisorConfigList');

/** A row joined with its connection's name, as the queries return it. */
export interface SupervisorConfigView {
  id: string;
  name: string;
  connection: string;
  queues: string[];
  minProcesses: number;
  maxProcesses: number;
  balance: 'simple' | 'auto';
  concurrency: number;
  tries: number;
  timeout: number;
  memory: number;
  sleep: number;
  rest: number;
  processors: Record<string, string>;
  labels: string[];
  version: number;
  createdAt: Date;
  createdByName: string;
  updatedAt: Date;
  updatedByName: string;
}

export function supervisorConfigBody(row: SupervisorConfigView): SupervisorConfigBody {
  return {
    id: row.id,
    name: row.name,
    connection: row.connection,
    queues: row.queues,
    minProcesses: row.minProcesses,
    maxProcesses: row.maxProcesses,
    balance: row.balance,
    concurrency: row.concurrency,
    tries: row.tries,
    timeout: row.timeout,
    memory: row.memory,
    sleep: row.sleep,
    rest: row.rest,
    processors: row.processors,
    labels: row.labels,
    version: row.version,
    createdAt: iso(row.createdAt),
    createdBy: row.createdByName,
    updatedAt: iso(row.updatedAt),
    updatedBy: row.updatedByName,
  };
}

/** The settings of a view, as a create body would give them (a change is merged over these). */
export function settingsOf(row: SupervisorConfigView): Record<string, unknown> {
  const { id, version, createdAt, createdByName, updatedAt, updatedByName, ...settings } = row;
  return settings;
}
