import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from '../../drizzle/schema';

/**
 * A drizzle database over Watchtower's schema, whichever driver carries it: node-postgres in Node,
 * Neon's serverless driver inside a Cloudflare Worker.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * A database for single statements, without interactive transactions: what Neon's HTTP path gives
 * the Cloudflare Worker. A `Database` is one too, so code that needs no transaction takes this.
 */
export type StatementDatabase = Omit<Database, 'transaction'>;

/**
 * Rows of a raw `db.execute()`: node-postgres, Neon's WebSocket Pool and Neon's HTTP path (drizzle's
 * `neon-http`, which asks `neon()` for full results) all answer `{ rows, fields, ... }`; a bare array
 * is taken as the rows.
 */
export function rowsOf<Row>(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}
