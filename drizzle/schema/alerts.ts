import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * Alerting: rules the cron evaluates every minute (functions/alerts/), the state of each rule per
 * subject (a host, a connection, a queue), the history of their changes, silences, the channels
 * notifications go to and every delivery attempt. Channel URLs and signing secrets are sealed like
 * connection passwords (core/crypto/sealed-secrets.ts) and never come back out of any route.
 */

export const ALERT_KINDS = [
  'host_down',
  'crash_loop',
  'queue_wait',
  'queue_depth',
  'failure_rate',
  'queue_stalled',
  'connection_down',
  'connection_slow',
  'maxmemory_policy',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** What a rule (or a silence) covers. `host`: the hosts started with this label (`--labels`). */
export type AlertScope =
  | { type: 'all' }
  | { type: 'connection'; connection: string }
  | { type: 'queue'; connection: string; queue: string }
  | { type: 'host'; label: string };

/** The kind's thresholds, validated per kind by the API (functions/schemas/alert-rules.ts). */
export type AlertParams = Record<string, number>;

export const CHANNEL_KINDS = ['slack', 'webhook', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const actorColumns = () => ({
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  // The actor (`kind:id`) and its name at the time, as for connections.
  createdBy: text('created_by').notNull(),
  createdByName: text('created_by_name').notNull().default(''),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedBy: text('updated_by').notNull(),
  updatedByName: text('updated_by_name').notNull().default(''),
});

export const alertChannels = pgTable(
  'watchtower_alert_channels',
  {
    // Chosen by the API before the insert: the secrets are sealed bound to it.
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind', { enum: CHANNEL_KINDS }).notNull(),
    // slack, webhook: where to post, sealed (a Slack incoming webhook URL is itself a credential).
    urlSealed: text('url_sealed'),
    // webhook: the HMAC-SHA-256 signing secret, sealed.
    secretSealed: text('secret_sealed'),
    // email: the recipients (not secret).
    emailTo: jsonb('email_to').$type<string[]>(),
    enabled: boolean('enabled').notNull().default(true),
    ...actorColumns(),
  },
  (t) => [
    uniqueIndex('watchtower_alert_channels_name').on(t.name),
    check('watchtower_alert_channels_kind', sql`${t.kind} in ('slack', 'webhook', 'email')`),
    // A secret column holds a sealed value or nothing: a plaintext write fails here.
    check(
      'watchtower_alert_channels_sealed',
      sql`(${t.urlSealed} is null or ${t.urlSealed} ~ '^v1\\.[0-9a-f]{8}\\.') and (${t.secretSealed} is null or ${t.secretSealed} ~ '^v1\\.[0-9a-f]{8}\\.')`,
    ),
  ],
);

export const alertRules = pgTable(
  'watchtower_alert_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    kind: text('kind', { enum: ALERT_KINDS }).notNull(),
    scope: jsonb('scope').$type<AlertScope>().notNull(),
    params: jsonb('params').$type<AlertParams>().notNull(),
    // Flap damping: consecutive evaluations that must agree before the state changes.
    forEvaluations: integer('for_evaluations').notNull().default(2),
    renotifyMinutes: integer('renotify_minutes').notNull().default(60),
    channelIds: uuid('channel_ids').array().notNull().default(sql`'{}'::uuid[]`),
    enabled: boolean('enabled').notNull().default(true),
    version: integer('version').notNull().default(1),
    ...actorColumns(),
  },
  (t) => [uniqueIndex('watchtower_alert_rules_name').on(t.name)],
);

/**
 * The state of one rule for one subject. `ok` (never fired, or not yet for long enough), `firing`,
 * `resolved` (fired, then ok again). The streaks count consecutive evaluations that found the
 * condition true (`bad`) or false (`good`); a state changes only once its streak reaches the
 * rule's `forEvaluations`.
 */
export const alerts = pgTable(
  'watchtower_alerts',
  {
    ruleId: uuid('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    state: text('state', { enum: ['ok', 'firing', 'resolved'] })
      .notNull()
      .default('ok'),
    badStreak: integer('bad_streak').notNull().default(0),
    goodStreak: integer('good_streak').notNull().default(0),
    value: doublePrecision('value'),
    message: text('message').notNull().default(''),
    firedAt: timestamp('fired_at', { withTimezone: true, mode: 'date' }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date' }),
    // When a notification was last due for it, sent or silenced (null: a silenced firing, so far).
    notifiedAt: timestamp('notified_at', { withTimezone: true, mode: 'date' }),
    // What a kind keeps between evaluations (crash_loop: recent restart counts with their times).
    memory: jsonb('memory').$type<unknown>(),
    evaluatedAt: timestamp('evaluated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.ruleId, t.subject] }),
    index('watchtower_alerts_firing').on(t.firedAt.desc()).where(sql`${t.state} = 'firing'`),
  ],
);

/** History: every state change and every repeated notification. Kept after its rule is deleted. */
export const alertEvents = pgTable(
  'watchtower_alert_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    ruleId: uuid('rule_id').notNull(),
    ruleName: text('rule_name').notNull(),
    kind: text('kind', { enum: ALERT_KINDS }).notNull(),
    subject: text('subject').notNull(),
    event: text('event', { enum: ['firing', 'renotify', 'resolved'] }).notNull(),
    value: doublePrecision('value'),
    message: text('message').notNull(),
    // A silence covered it: recorded, but no notification was sent.
    silenceId: uuid('silence_id'),
  },
  (t) => [index('watchtower_alert_events_rule').on(t.ruleId, t.id.desc())],
);

export const alertSilences = pgTable(
  'watchtower_alert_silences',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // One of the two: a rule, or a scope (every alert whose subject falls in it).
    ruleId: uuid('rule_id'),
    scope: jsonb('scope').$type<AlertScope>(),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }).notNull(),
    reason: text('reason').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull().default(''),
  },
  (t) => [
    index('watchtower_alert_silences_ends').on(t.endsAt.desc()),
    check('watchtower_alert_silences_target', sql`(${t.ruleId} is null) <> (${t.scope} is null)`),
  ],
);

/**
 * One notification to one channel, from its first attempt to `sent` or `failed` (gave up). A
 * pending one whose attempt failed is tried again by a later cron run at `next_attempt_at`.
 */
export const alertDeliveries = pgTable(
  'watchtower_alert_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    channelId: uuid('channel_id').notNull(),
    channelName: text('channel_name').notNull(),
    // null: a test notification (POST /api/alerts/channels/{id}/test).
    eventId: bigint('event_id', { mode: 'number' }),
    status: text('status', { enum: ['pending', 'sending', 'sent', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
    // The receiver's HTTP status of the last attempt (null: no answer, e.g. a timeout).
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    // The notification, as every channel kind renders it (no secrets).
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index('watchtower_alert_deliveries_due')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending' or ${t.status} = 'sending'`),
    index('watchtower_alert_deliveries_channel').on(t.channelId, t.id.desc()),
  ],
);
