import { z } from '@hono/zod-openapi';
import { ALERT_KINDS } from '../../drizzle/schema';
import { AlertScopeSchema } from './alert-rules';
import { DateTimeParam, LimitSchema, multilineText, optionalIntegerQuery, TimestampSchema } from './common';

/** Schemas of GET /api/alerts, /api/alerts/deliveries and /api/alerts/silences. */

const EventKindSchema = z.enum(['firing', 'renotify', 'resolved']);

export const FiringAlertSchema = z
  .object({
    ruleId: z.uuid(),
    ruleName: z.string(),
    kind: z.enum(ALERT_KINDS),
    subject: z.string().openapi({
      description:
        'What it is about: a hostname (host_down), a host id (crash_loop), a connection, or connection/queue',
    }),
    value: z
      .number()
      .nullable()
      .openapi({ description: 'The measure at the last evaluation (seconds, jobs, %, ms...)' }),
    message: z.string(),
    firedAt: TimestampSchema,
    notifiedAt: TimestampSchema.nullable().openapi({
      description: 'Last notification queued (null: none, e.g. silenced)',
    }),
    evaluatedAt: TimestampSchema,
    silenced: z.boolean().openapi({ description: 'An active silence covers it now' }),
  })
  .openapi('FiringAlert');

export const AlertEventSchema = z
  .object({
    id: z.number().int(),
    at: TimestampSchema,
    ruleId: z.uuid(),
    ruleName: z.string(),
    kind: z.enum(ALERT_KINDS),
    subject: z.string(),
    event: EventKindSchema.openapi({
      description: 'firing; renotify (still firing, notified again); resolved',
    }),
    value: z.number().nullable(),
    message: z.string(),
    silenceId: z
      .uuid()
      .nullable()
      .openapi({ description: 'The silence that kept it from being sent (null: sent)' }),
  })
  .openapi('AlertEvent');

export const AlertsQuerySchema = z.object({
  ruleId: z.uuid().optional().openapi({ description: 'Only this rule' }),
  cursor: optionalIntegerQuery({ min: 1, max: Number.MAX_SAFE_INTEGER }).openapi({
    description: "The previous page's `nextCursor`: events older than it",
  }),
  limit: LimitSchema,
});

export const AlertsAnswerSchema = z
  .object({
    firing: z
      .array(FiringAlertSchema)
      .openapi({ description: 'Firing now (enabled rules), newest first (at most 500)' }),
    events: z.array(AlertEventSchema).openapi({ description: 'History, newest first' }),
    nextCursor: z.string().nullable(),
  })
  .openapi('Alerts');

export const DELIVERY_STATUSES = ['pending', 'sending', 'sent', 'failed'] as const;

export const DeliverySchema = z
  .object({
    id: z.number().int(),
    createdAt: TimestampSchema,
    channelId: z.uuid(),
    channelName: z.string(),
    eventId: z.number().int().nullable().openapi({ description: 'null: a test notification' }),
    type: z.string().openapi({ description: 'alert.firing, alert.renotify, alert.resolved or test' }),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description: 'pending (waiting for its next attempt), sending, sent, failed (gave up)',
    }),
    attempts: z.number().int(),
    nextAttemptAt: TimestampSchema.nullable().openapi({ description: 'pending: when it is tried again' }),
    lastAttemptAt: TimestampSchema.nullable(),
    lastStatus: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The receiver's HTTP status (null: no answer)" }),
    lastError: z.string().nullable(),
  })
  .openapi('AlertDelivery');

export const DeliveriesQuerySchema = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  channelId: z.uuid().optional(),
  cursor: optionalIntegerQuery({ min: 1, max: Number.MAX_SAFE_INTEGER }).openapi({
    description: "The previous page's `nextCursor`: deliveries older than it",
  }),
  limit: LimitSchema,
});

export const DeliveryListSchema = z
  .object({ deliveries: z.array(DeliverySchema), nextCursor: z.string().nullable() })
  .openapi('AlertDeliveryList');

export const SilenceSchema = z
  .object({
    id: z.uuid(),
    ruleId: z.uuid().nullable(),
    scope: AlertScopeSchema.nullable(),
    startsAt: TimestampSchema,
    endsAt: TimestampSchema,
    reason: z.string(),
    active: z.boolean(),
    createdAt: TimestampSchema,
    createdBy: z.string(),
  })
  .openapi('AlertSilence');

export const CreateSilenceBodySchema = z
  .strictObject({
    ruleId: z.uuid().optional().openapi({ description: 'Silence this rule (or give `scope`)' }),
    scope: AlertScopeSchema.optional().openapi({
      description: 'Silence every alert whose subject falls in this scope (or give `ruleId`)',
    }),
    startsAt: DateTimeParam.optional().openapi({ description: 'Default: now' }),
    endsAt: DateTimeParam.openapi({ description: 'Until when (at most 90 days ahead)' }),
    reason: multilineText({ min: 1, max: 1000 }),
  })
  .refine((body) => (body.ruleId === undefined) !== (body.scope === undefined), {
    message: 'give exactly one of ruleId and scope',
    path: ['ruleId'],
  })
  .openapi('CreateAlertSilenceRequest');

export const SilencesQuerySchema = z.object({
  all: z
    .enum(['true', 'false'])
    .default('false')
    .openapi({ description: 'true: ended ones too (newest first)' }),
  limit: LimitSchema,
});

export const SilenceListSchema = z.object({ silences: z.array(SilenceSchema) }).openapi('AlertSilenceList');

type DeliveryRow = {
  id: number;
  createdAt: Date;
  channelId: string;
  channelName: string;
  eventId: number | null;
  status: (typeof DELIVERY_STATUSES)[number];
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  payload: Record<string, unknown>;
};

export function deliveryBody(row: DeliveryRow): z.infer<typeof DeliverySchema> {
  return {
    id: Number(row.id),
    createdAt: row.createdAt.toISOString(),
    channelId: row.channelId,
    channelName: row.channelName,
    eventId: row.eventId === null ? null : Number(row.eventId),
    type: typeof row.payload.type === 'string' ? row.payload.type : 'unknown',
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
  };
}
