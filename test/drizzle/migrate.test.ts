import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase } from '../../scripts/local-only/services';
import { testEnv } from '../setup/test-env';

// `npm run db:migrate` on an empty database creates every table; a second run changes nothing.
describe('migrations', () => {
  const name = `watchtower_migrate_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  const maintenance = new URL(testEnv.databaseUrl);
  maintenance.pathname = '/postgres';

  afterAll(async () => {
    const client = new pg.Client({ connectionString: maintenance.toString() });
    await client.connect();
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await client.end();
  });

  it('creates the tables on an empty database, and a second run is a no-op', async () => {
    await ensureDatabase(url.toString());
    const first = await migrateDatabase(url.toString());
    expect(first.applied).toBeGreaterThanOrEqual(3);

    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const tables = async () =>
        (
          await client.query<{ table_name: string }>(
            "select table_name from information_schema.tables where table_schema = 'public' order by 1",
          )
        ).rows.map((row) => row.table_name);
      const before = await tables();
      for (const table of [
        'watchtower_jobs',
        'watchtower_job_attempts',
        'watchtower_workers',
        'watchtower_hosts',
        'watchtower_commands',
        'watchtower_metrics',
        'watchtower_metrics_hourly',
        'watchtower_bus_entries',
      ]) {
        expect(before).toContain(table);
      }
      const functions = await client.query(
        "select 1 from pg_proc where proname = 'watchtower_claim_commands'",
      );
      expect(functions.rowCount).toBe(1);

      const second = await migrateDatabase(url.toString());
      expect(second.applied).toBe(0);
      expect(await tables()).toEqual(before);
    } finally {
      await client.end();
    }
  });
});
