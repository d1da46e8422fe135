import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Database } from '../../core/db/database';
import * as schema from '../../drizzle/schema';

/** The worker-host's Postgres: a small node-postgres pool under drizzle. */
export function createNodeDatabase(databaseUrl: string, options: { max?: number } = {}) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 4 });
  // An idle client's error (a Postgres restart) must not crash the host; the next query reconnects.
  pool.on('error', () => undefined);
  const db: Database = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}
