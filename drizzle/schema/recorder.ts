import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Where each queue's watcher got to, so a restarted host neither misses nor re-reads history:
 * the last BullMQ event stream id whose `added` jobs are recorded, and the finish time up to which
 * the sweep has checked the completed and failed sets against `watchtower_jobs`.
 *
 * One host at a time watches a queue: `owner` holds a lease until `lease_until`, renewed by every
 * sweep; another host takes over once it lapses.
 */
export const recorderCursors = pgTable(
  'watchtower_recorder_cursors',
  {
    connection: text('connection').notNull(),
    queue: text('queue').notNull(),
    lastEventId: text('last_event_id'),
    sweptUntil: timestamp('swept_until', { withTimezone: true, mode: 'date' }),
    owner: text('owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.connection, t.queue] })],
);
