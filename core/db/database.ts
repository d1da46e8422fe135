import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from '../../drizzle/schema';

/**
 * A drizzle database over Watchtower's schema, whichever driver carries it: node-postgres in Node,
 * Neon's serverless driver inside a Cloudflare Worker.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Rows of a raw `db.execute()`, which node-postgres and Neon both answer as `{ rows }`. */
export function rowsOf<Row>(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}
