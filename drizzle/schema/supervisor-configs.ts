import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { connections } from './connections';

/**
 * Supervisors kept in the database: what a host's configuration file says of a
 * supervisor, run by every host whose labels include all of `labels` and that allows a processors
 * directory (`--processors-dir`). Processor paths are relative to that directory: the host refuses
 * one that resolves outside it, so this table can never make a host run code its owner did not
 * install.
 */
export const supervisorConfigs = pgTable(
  'watchtower_supervisor_configs',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    // By id, so renaming a connection keeps its supervisors; deleting one in use is refused
    // (the API answers 409 before this restriction is reached).
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'restrict' }),
    queues: text('queues').array().notNull(),
    minProcesses: integer('min_processes').notNull(),
    maxProcesses: integer('max_processes').notNull(),
    balance: text('balance', { enum: ['simple', 'auto'] }).notNull(),
    concurrency: integer('concurrency').notNull(),
    tries: integer('tries').notNull(),
    timeout: doublePrecision('timeout').notNull(),
    memory: integer('memory').notNull(),
    sleep: doublePrecision('sleep').notNull(),
    rest: doublePrecision('rest').notNull(),
    // Queue (or `*` for every other queue) → module path relative to the host's processors directory.
    processors: jsonb('processors').$type<Record<string, string>>().notNull(),
    // The selector: a host runs it when its labels include all of these; empty: every host that opts in.
    labels: text('labels').array().notNull().default(sql`'{}'::text[]`),
    // Raised on every change of this row.
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull().default(''),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedBy: text('updated_by').notNull(),
    updatedByName: text('updated_by_name').notNull().default(''),
  },
  (t) => [
    uniqueIndex('watchtower_supervisor_configs_name').on(t.name),
    // The in-use check of a connection (functions/queries/connections.ts) and the foreign key's.
    index('watchtower_supervisor_configs_connection').on(t.connectionId),
    check('watchtower_supervisor_configs_balance', sql`${t.balance} in ('simple', 'auto')`),
    check(
      'watchtower_supervisor_configs_processes',
      sql`${t.minProcesses} >= 0 and ${t.maxProcesses} >= 1 and ${t.maxProcesses} >= ${t.minProcesses} * cardinality(${t.queues})`,
    ),
  ],
);

/**
 * One row: the version of the whole database configuration (supervisors and the connections they
 * use), raised by every change. A host reads this one number every few seconds and loads the
 * configurations only when it moved; the same change is announced by NOTIFY on `watchtower_config`.
 */
export const configVersion = pgTable(
  'watchtower_config_version',
  {
    id: integer('id').primaryKey().default(1),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [check('watchtower_config_version_one_row', sql`${t.id} = 1`)],
);
