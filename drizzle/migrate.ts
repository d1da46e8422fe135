import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

// Any constant works; it only has to be the same for every process that migrates this database.
const MIGRATION_LOCK = 7_406_221_001;

/**
 * Applies the committed migrations. Runs in Node only (the migrator reads files from disk), and
 * holds an advisory lock so that two processes starting together do not both apply them.
 */
export async function migrateDatabase(databaseUrl: string): Promise<{ applied: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const before = await countApplied(client);
    await migrate(drizzle(client), { migrationsFolder });
    const after = await countApplied(client);
    return { applied: after - before };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(
    "select 1 from information_schema.tables where table_schema = 'drizzle' and table_name = '__drizzle_migrations'",
  );
  if (exists.rowCount === 0) return 0;
  const { rows } = await client.query<{ n: string }>(
    'select count(*)::text as n from drizzle.__drizzle_migrations',
  );
  return Number(rows[0]?.n ?? 0);
}

// Run as a script (`tsx drizzle/migrate.ts`), not when compiled into another entry (the worker-host's).
if (
  process.argv[1] &&
  /migrate\.[cm]?[jt]s$/.test(process.argv[1]) &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error(
      'DATABASE_URL is not set: give the Postgres database to migrate, e.g. postgres://user@host:5432/db',
    );
    process.exit(2);
  }
  migrateDatabase(url).then(
    ({ applied }) =>
      console.log(applied === 0 ? 'Database is up to date.' : `Applied ${applied} migration(s).`),
    (error: unknown) => {
      console.error('Migration failed:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
