/**
 * LOCAL TEST TOOLING: a test file's own database, dropped and made again from the committed
 * migrations. Whatever an earlier run left in it (rows, or migrations applied under numbers that
 * have changed since) cannot reach this run.
 */
import pg from 'pg';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase } from '../../scripts/local-only/services';

export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const maintenance = new URL(databaseUrl);
  const name = decodeURIComponent(maintenance.pathname.slice(1));
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  await ensureDatabase(databaseUrl);
  await migrateDatabase(databaseUrl);
}

/** `postgres://…/watchtower_test` → `postgres://…/watchtower_test_<suffix>`. */
export function suffixedDatabaseUrl(databaseUrl: string, suffix: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `${url.pathname}_${suffix}`;
  return url.toString();
}
