import { boolean, doublePrecision, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { connections } from './connections';

/**
 * The last `connection.test` of each connection kept in the database, written by the host that
 * carried it out (worker-host/commands/connection-test-record.ts), so the Connections page shows
 * it between visits. One row per connection, replaced by each test, gone with the connection.
 * Kept here rather than read from watchtower_commands: the command bus may be Upstash Redis,
 * and commands are cleaned away. Not configuration: config export and import leave it out.
 */
export const connectionTests = pgTable('watchtower_connection_tests', {
  connectionId: uuid('connection_id')
    .primaryKey()
    .references(() => connections.id, { onDelete: 'cascade' }),
  testedAt: timestamp('tested_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** The host that carried the test out. */
  hostId: text('host_id').notNull(),
  ok: boolean('ok').notNull(),
  /** The measured round trip (null: the test did not get through). */
  latencyMs: doublePrecision('latency_ms'),
  serverVersion: text('server_version'),
  authenticated: boolean('authenticated'),
  /** Why it failed: one short line, never the connection's secret. */
  error: text('error'),
});
