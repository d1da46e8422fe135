import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from '../../drizzle/schema';

/**
 * A drizzle database over Watchtower's schema, whichever driver carries it: node-postgres in Node,
 * Neon's serverless driver inside a Cloudflare Worker.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * Rows of a raw `db.execute()`: node-postgres, Neon's WebSocket Pool and Neon's HTTP path (drizzle's
 * `neon-http`, which asks `neon()` for full results) all answer `{ rows, fields, ... }`; a bare array
 * is taken as the rows.
 */
export function rowsOf<Row>(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}
