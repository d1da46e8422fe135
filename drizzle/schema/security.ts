import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
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
 * Who may use the API and what they did: users (dashboard logins), API tokens (automation),
 * browser sessions, the audit log and the login rate limiter's counters.
 *
 * Secrets are never stored: passwords as PBKDF2 hashes, tokens and session ids as SHA-256 hashes
 * of high-entropy random values (a fast hash is enough there: nothing to brute-force).
 */

const ROLE_VALUES = ['viewer', 'operator', 'admin'] as const;

export const users = pgTable(
  'watchtower_users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Stored lower-cased (the check keeps it so), which makes the unique index case-insensitive.
    email: text('email').notNull(),
    name: text('name').notNull().default(''),
    role: text('role', { enum: ROLE_VALUES }).notNull().default('viewer'),
    // `pbkdf2-sha256$<iterations>$<salt>$<hash>`; null for a user who only signs in through Access.
    passwordHash: text('password_hash'),
    disabled: boolean('disabled').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('watchtower_users_email').on(t.email),
    check('watchtower_users_email_lower', sql`${t.email} = lower(${t.email})`),
    check('watchtower_users_role', sql`${t.role} in ('viewer', 'operator', 'admin')`),
  ],
);

export const apiTokens = pgTable(
  'watchtower_api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    role: text('role', { enum: ROLE_VALUES }).notNull(),
    // Hex SHA-256 of the whole token; the token itself is shown once, at creation.
    tokenHash: text('token_hash').notNull(),
    // The token's first characters, so a person can tell tokens apart in a list.
    prefix: text('prefix').notNull(),
    // The actor that created it (`kind:id`) and its name at the time.
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('watchtower_api_tokens_hash').on(t.tokenHash),
    index('watchtower_api_tokens_recent').on(t.createdAt.desc(), t.id.desc()),
    check('watchtower_api_tokens_role', sql`${t.role} in ('viewer', 'operator', 'admin')`),
  ],
);

export const sessions = pgTable(
  'watchtower_sessions',
  {
    // Hex SHA-256 of the cookie's secret: a database leak does not hand out live sessions.
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [
    index('watchtower_sessions_user').on(t.userId),
    index('watchtower_sessions_expiry').on(t.expiresAt),
  ],
);

export const auditLog = pgTable(
  'watchtower_audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    // `anonymous` for what happens before anyone is authenticated (a failed login).
    actorKind: text('actor_kind').notNull(),
    actorId: text('actor_id').notNull(),
    actorName: text('actor_name').notNull().default(''),
    // `<resource>.<verb>`: users.create, tokens.revoke, workers.stop, auth.login, ...
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    result: text('result', { enum: ['ok', 'error', 'accepted'] }).notNull(),
    commandId: text('command_id'),
    details: jsonb('details'),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [
    // Newest first is the primary key read backwards; these serve the filters, newest first.
    index('watchtower_audit_log_actor').on(t.actorKind, t.actorId, t.id.desc()),
    // Filtering by the name people know an actor by (an email, a token's name).
    index('watchtower_audit_log_actor_name').on(t.actorName, t.id.desc()),
    index('watchtower_audit_log_action').on(t.action, t.id.desc()),
    index('watchtower_audit_log_target').on(t.targetType, t.targetId, t.id.desc()),
    index('watchtower_audit_log_at').on(t.at.desc()),
    index('watchtower_audit_log_command').on(t.commandId).where(sql`${t.commandId} is not null`),
  ],
);

/**
 * The rate limiters (functions/auth/login-rate-limit.ts): login attempts per key (a hash of the
 * address and email, of the address, or of the email) and failed bearer tokens per address, per
 * fixed window. `failures` is the count (login attempts are counted before they are checked).
 * Old windows are deleted by `pruneAuthState`.
 */
export const loginAttempts = pgTable(
  'watchtower_login_attempts',
  {
    key: text('key').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'date' }).notNull(),
    failures: integer('failures').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.key, t.windowStart] }),
    index('watchtower_login_attempts_window').on(t.windowStart),
  ],
);
