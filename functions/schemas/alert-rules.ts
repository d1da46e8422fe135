import { z } from '@hono/zod-openapi';
import { ALERT_KINDS, type AlertKind, type AlertScope, type alertRules } from '../../drizzle/schema';
import { iso, LimitSchema, singleLineText, TimestampSchema } from './common';
import { CursorSchema } from './security';

/**
 * Request and response schemas of /api/alerts/rules. A rule's thresholds (`params`) depend on its
 * kind; its scope says which hosts, connections or queues it watches, and only scopes that make
 * sense for the kind are accepted.
 */

// Connection and queue names as hosts configure them: printable ASCII without spaces.
const identifier = (example: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .openapi({ example });

export const AlertScopeSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('all') }),
    z.strictObject({ type: z.literal('connection'), connection: identifier('main-redis') }),
    z.strictObject({
      type: z.literal('queue'),
      connection: identifier('default'),
      queue: identifier('emails'),
    }),
    z.strictObject({
      type: z.literal('host'),
      label: identifier('eu-west').openapi({ description: 'Hosts started with this label (`--labels`)' }),
    }),
  ])
  .openapi('AlertScope', {
    description:
      '`all`; a connection (by name); a queue (connection + queue); or the hosts with a label. host_down and crash_loop take all or host; connection kinds take all, connection or host; queue kinds take all, connection or queue.',
  });

const int = (min: number, max: number, description: string) =>
  z.number().int().min(min).max(max).openapi({ description });

/** Each kind's thresholds. */
export const PARAM_SHAPES = {
  host_down: z.strictObject({ seconds: int(5, 86_400, 'No heartbeat for more than this many seconds') }),
  crash_loop: z.strictObject({
    restarts: int(0, 100_000, 'More than this many worker process restarts on one host...'),
    minutes: int(1, 180, '...within this many minutes'),
  }),
  queue_wait: z.strictObject({
    seconds: int(1, 2_592_000, 'The oldest waiting job waited longer than this'),
  }),
  queue_depth: z.strictObject({ waiting: int(0, 100_000_000, 'More than this many jobs waiting') }),
  failure_rate: z.strictObject({
    percent: z
      .number()
      .min(0)
      .max(100)
      .openapi({ description: 'More than this percentage of jobs failed...' }),
    minJobs: int(1, 10_000_000, '...of at least this many finished jobs...'),
    minutes: int(1, 1440, '...within this many minutes'),
  }),
  queue_stalled: z.strictObject({
    minutes: int(1, 1440, 'No job completed for this many minutes while jobs waited all that time'),
  }),
  connection_down: z.strictObject({}),
  connection_slow: z.strictObject({
    p95Ms: z.number().min(1).max(600_000).openapi({ description: 'Round-trip p95 over this' }),
  }),
  maxmemory_policy: z.strictObject({}),
} as const satisfies Record<AlertKind, z.ZodType>;

const SCOPES_OF: Record<AlertKind, readonly AlertScope['type'][]> = {
  host_down: ['all', 'host'],
  crash_loop: ['all', 'host'],
  queue_wait: ['all', 'connection', 'queue'],
  queue_depth: ['all', 'connection', 'queue'],
  failure_rate: ['all', 'connection', 'queue'],
  queue_stalled: ['all', 'connection', 'queue'],
  connection_down: ['all', 'connection', 'host'],
  connection_slow: ['all', 'connection', 'host'],
  maxmemory_policy: ['all', 'connection', 'host'],
};

const NameSchema = singleLineText({ min: 1, max: 200 }).openapi({ example: 'Redis down' });
const ForEvaluationsSchema = int(
  1,
  60,
  'Consecutive evaluations (one a minute) that must agree before the alert fires or resolves (flap damping)',
);
const RenotifyMinutesSchema = int(1, 10_080, 'While firing, notify again every this many minutes');
const ChannelIdsSchema = z
  .array(z.uuid())
  .max(20)
  .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a channel')
  .openapi({ description: 'Where notifications go (GET /api/alerts/channels)' });

const common = {
  name: NameSchema,
  scope: AlertScopeSchema.default({ type: 'all' }),
  forEvaluations: ForEvaluationsSchema.default(2),
  renotifyMinutes: RenotifyMinutesSchema.default(60),
  channelIds: ChannelIdsSchema.default([]),
  enabled: z.boolean().default(true),
};

const variant = <K extends AlertKind>(kind: K) =>
  z.strictObject({ ...common, kind: z.literal(kind), params: PARAM_SHAPES[kind] });

export const CreateAlertRuleBodySchema = z
  .discriminatedUnion('kind', [
    variant('host_down'),
    variant('crash_loop'),
    variant('queue_wait'),
    variant('queue_depth'),
    variant('failure_rate'),
    variant('queue_stalled'),
    z.strictObject({
      ...common,
      kind: z.literal('connection_down'),
      params: PARAM_SHAPES.connection_down.default({}),
    }),
    variant('connection_slow'),
    z.strictObject({
      ...common,
      kind: z.literal('maxmemory_policy'),
      params: PARAM_SHAPES.maxmemory_policy.default({}),
    }),
  ])
  .superRefine((rule, ctx) => {
    if (!SCOPES_OF[rule.kind].includes(rule.scope.type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['scope', 'type'],
        message: `a ${rule.kind} rule takes scope ${SCOPES_OF[rule.kind].join(', ')}`,
      });
    }
  })
  .openapi('CreateAlertRuleRequest');
export type AlertRuleInput = z.output<typeof CreateAlertRuleBodySchema>;

/** Only the fields given change; the result is checked as a whole against the rule's kind. */
export const UpdateAlertRuleBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    scope: AlertScopeSchema.optional(),
    params: z
      .record(z.string(), z.number())
      .optional()
      .openapi({ description: "The kind's thresholds, all of them" }),
    forEvaluations: ForEvaluationsSchema.optional(),
    renotifyMinutes: RenotifyMinutesSchema.optional(),
    channelIds: ChannelIdsSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'nothing to change')
  .openapi('UpdateAlertRuleRequest');

export const AlertRuleSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(ALERT_KINDS),
    scope: AlertScopeSchema,
    params: z.record(z.string(), z.number()),
    forEvaluations: z.number().int(),
    renotifyMinutes: z.number().int(),
    channelIds: z.array(z.uuid()),
    enabled: z.boolean(),
    version: z.number().int().openapi({ description: 'Raised by every change' }),
    createdAt: TimestampSchema,
    createdBy: z.string(),
    updatedAt: TimestampSchema,
    updatedBy: z.string(),
  })
  .openapi('AlertRule');
export type AlertRuleBody = z.infer<typeof AlertRuleSchema>;

export type AlertRuleRow = typeof alertRules.$inferSelect;

export function alertRuleBody(row: AlertRuleRow): AlertRuleBody {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    scope: row.scope,
    params: row.params,
    forEvaluations: row.forEvaluations,
    renotifyMinutes: row.renotifyMinutes,
    channelIds: row.channelIds,
    enabled: row.enabled,
    version: row.version,
    createdAt: iso(row.createdAt),
    createdBy: row.createdByName,
    updatedAt: iso(row.updatedAt),
    updatedBy: row.updatedByName,
  };
}

export const ListAlertRulesQuerySchema = z.object({ cursor: CursorSchema.optional(), limit: LimitSchema });

export const AlertRuleListSchema = z
  .object({ rules: z.array(AlertRuleSchema), nextCursor: z.string().nullable() })
  .openapi('AlertRuleList');
