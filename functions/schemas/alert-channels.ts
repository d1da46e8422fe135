import { z } from '@hono/zod-openapi';
import { type alertChannels, CHANNEL_KINDS } from '../../drizzle/schema';
import { outboundUrlProblem } from '../alerts/outbound-url';
import type { LastDeliveryRow } from '../queries/alert-channels';
import { DELIVERY_STATUSES } from './alert-history';
import { EmailSchema, iso, LimitSchema, singleLineText, TimestampSchema } from './common';
import { CursorSchema } from './security';

/**
 * Request and response schemas of /api/alerts/channels. The URL (a Slack incoming webhook URL is
 * itself a credential) and the webhook's signing secret are sealed at rest and never returned: a
 * read says `hasUrl` and `hasSecret`.
 */

const NameSchema = singleLineText({ min: 1, max: 200 }).openapi({ example: 'ops-slack' });

const UrlSchema = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = outboundUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    format: 'password',
    description: 'Where to POST; https (http only to 127.0.0.1 or localhost). Stored sealed, never returned.',
    example: 'https://hooks.slack.com/services/T000/B000/XXXX',
  });

const SecretSchema = singleLineText({ min: 16, max: 256 }).openapi({
  format: 'password',
  description: 'The HMAC-SHA-256 signing key (at least 16 characters). Stored sealed, never returned.',
});

const ToSchema = z.array(EmailSchema).min(1).max(20).openapi({ description: 'Recipients' });

const enabled = { enabled: z.boolean().default(true) };

export const CreateAlertChannelBodySchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('slack'), name: NameSchema, url: UrlSchema, ...enabled }),
    z.strictObject({
      kind: z.literal('webhook'),
      name: NameSchema,
      url: UrlSchema,
      secret: SecretSchema,
      ...enabled,
    }),
    z.strictObject({ kind: z.literal('email'), name: NameSchema, to: ToSchema, ...enabled }),
  ])
  .openapi('CreateAlertChannelRequest', {
    description:
      'slack: an incoming webhook URL (posted `{text, blocks}`). webhook: a URL and a secret; the JSON body is signed (see the README: X-Watchtower-Signature). email: recipients, sent through Resend (WATCHTOWER_RESEND_API_KEY, WATCHTOWER_ALERT_EMAIL_FROM).',
  });
export type AlertChannelInput = z.output<typeof CreateAlertChannelBodySchema>;

/** Only the fields given change, and only those of the channel's kind are accepted. */
export const UpdateAlertChannelBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    url: UrlSchema.optional(),
    secret: SecretSchema.optional(),
    to: ToSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'nothing to change')
  .openapi('UpdateAlertChannelRequest');
export type AlertChannelPatch = z.output<typeof UpdateAlertChannelBodySchema>;

const LastDeliverySchema = z
  .object({
    id: z.number().int().openapi({ description: 'Its id in the delivery log (GET /api/alerts/deliveries)' }),
    at: TimestampSchema.openapi({ description: 'Its last attempt, or when it was queued if not tried yet' }),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description:
        'sent; failed (gave up after its attempts: the channel is failing); pending (waiting for its next attempt: failing if `attempts` > 0); sending',
    }),
    attempts: z.number().int(),
    type: z
      .string()
      .nullable()
      .openapi({ description: 'alert.firing, alert.renotify, alert.resolved or test' }),
    eventId: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'The alert event it notified (null: a test)' }),
    httpStatus: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The receiver's HTTP status at the last attempt (null: no answer)" }),
    error: z.string().nullable().openapi({ description: 'Why the last attempt failed (null: it did not)' }),
  })
  .openapi('AlertChannelLastDelivery', {
    description:
      "The channel's newest delivery, as its row of the delivery log (null: none yet), however many deliveries of other channels came after it.",
  });

export const AlertChannelSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(CHANNEL_KINDS),
    to: z.array(z.string()).nullable().openapi({ description: 'email: the recipients' }),
    hasUrl: z.boolean().openapi({ description: 'A URL is stored (its value is never shown)' }),
    hasSecret: z.boolean().openapi({ description: 'webhook: a signing secret is stored (never shown)' }),
    enabled: z.boolean(),
    createdAt: TimestampSchema,
    createdBy: z.string(),
    updatedAt: TimestampSchema,
    updatedBy: z.string(),
    lastDelivery: LastDeliverySchema.nullable(),
  })
  .openapi('AlertChannel');
export type AlertChannelBody = z.infer<typeof AlertChannelSchema>;

/**
 * What a client sees of a row: never a sealed value, not even sealed. `lastDelivery`: its newest
 * row of the delivery log, null when it has none.
 */
export function alertChannelBody(
  row: typeof alertChannels.$inferSelect,
  lastDelivery: LastDeliveryRow | null,
): AlertChannelBody {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    to: row.emailTo,
    hasUrl: row.urlSealed !== null,
    hasSecret: row.secretSealed !== null,
    enabled: row.enabled,
    createdAt: iso(row.createdAt),
    createdBy: row.createdByName,
    updatedAt: iso(row.updatedAt),
    updatedBy: row.updatedByName,
    lastDelivery:
      lastDelivery === null
        ? null
        : {
            id: Number(lastDelivery.id),
            at: iso(lastDelivery.lastAttemptAt ?? lastDelivery.createdAt),
            status: lastDelivery.status,
            attempts: lastDelivery.attempts,
            type: lastDelivery.type,
            eventId: lastDelivery.eventId === null ? null : Number(lastDelivery.eventId),
            httpStatus: lastDelivery.lastStatus,
            error: lastDelivery.lastError,
          },
  };
}

export const ListAlertChannelsQuerySchema = z.object({ cursor: CursorSchema.optional(), limit: LimitSchema });

export const AlertChannelListSchema = z
  .object({ channels: z.array(AlertChannelSchema), nextCursor: z.string().nullable() })
  .openapi('AlertChannelList');
