import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The database driver's command rows. `seq` orders commands per target; a claim hands out the
 * oldest claimable commands of each target its host answers for.
 */
export const commands = pgTable(
  'watchtower_commands',
  {
    id: uuid('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    targetKind: text('target_kind', { enum: ['worker', 'supervisor', 'host', 'connection'] }).notNull(),
    targetId: text('target_id').notNull(),
    type: text('type').notNull(),
    args: jsonb('args').notNull().default({}),
    status: text('status', { enum: ['pending', 'claimed', 'done', 'failed', 'expired'] })
      .notNull()
      .default('pending'),
    result: jsonb('result'),
    error: text('error'),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    claimedBy: text('claimed_by'),
    claimedAt: timestamp('claimed_at', { withTimezone: true, mode: 'date' }),
    claimToken: uuid('claim_token'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
    deliveries: integer('deliveries').notNull().default(0),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // The claim: open commands of a set of targets, in order. Partial, so it stays small.
    index('watchtower_commands_open')
      .on(t.targetKind, t.targetId, t.seq)
      .where(sql`${t.status} in ('pending', 'claimed')`),
    // Cleaning: finished commands by age, and open ones past their TTL.
    index('watchtower_commands_finished').on(t.finishedAt).where(sql`${t.finishedAt} is not null`),
    index('watchtower_commands_expiry').on(t.expiresAt).where(sql`${t.status} in ('pending', 'claimed')`),
    index('watchtower_commands_recent').on(t.createdAt.desc()),
  ],
);

/** The seed contract's key/value entries (`put`/`get`/`forget` with a TTL). */
export const busEntries = pgTable(
  'watchtower_bus_entries',
  {
    key: text('key').primaryKey(),
    value: jsonb('value').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('watchtower_bus_entries_expiry').on(t.expiresAt)],
);
