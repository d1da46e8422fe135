import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase } from '../../scripts/local-only/services';
import { testEnv } from '../setup/test-env';

const migrations = fileURLToPath(new URL('../../drizzle/migrations', import.meta.url));
/** The last migration before jobs were keyed by BullMQ's timestamp too. */
const BEFORE = '0013_job_attempts_running';

// A database with jobs recorded before job timestamps were kept, migrated to now: every job and
// attempt gets its job's timestamp, and nothing is lost.
describe('the job timestamp migrations', () => {
  const name = `watchtower_jobts_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  const maintenance = new URL(testEnv.databaseUrl);
  maintenance.pathname = '/postgres';
  const folder = mkdtempSync(join(tmpdir(), 'wt-migrations-'));

  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: maintenance.toString() });
    await client.connect();
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await client.end();
  });

  it('gives existing jobs and their attempts the timestamp of their job', async () => {
    // The migrations up to BEFORE, as a database deployed then has them.
    cpSync(migrations, folder, { recursive: true });
    const journalPath = join(folder, 'meta/_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
    const cut = journal.entries.findIndex((entry) => entry.tag === BEFORE);
    expect(cut).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, cut + 1);
    writeFileSync(journalPath, JSON.stringify(journal));

    await ensureDatabase(url.toString());
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await migrate(drizzle(client), { migrationsFolder: folder });
      const queuedMs = 1_796_000_000_123;
      await client.query(
        `insert into watchtower_jobs (job_id, queue, status, attempts, queued_at)
         values ('1', 'mail', 'failed', 2, to_timestamp($1 / 1000.0)), ('2', 'mail', 'completed', 1, to_timestamp($2 / 1000.0))`,
        [queuedMs, queuedMs + 5],
      );
      await client.query(
        `insert into watchtower_job_attempts (job_id, queue, attempt, status, started_at)
         values ('1', 'mail', 1, 'failed', to_timestamp($1 / 1000.0)), ('1', 'mail', 2, 'failed', to_timestamp($1 / 1000.0)),
                ('gone', 'mail', 1, 'failed', to_timestamp($2 / 1000.0))`,
        [queuedMs + 100, queuedMs + 900],
      );

      await migrateDatabase(url.toString());

      const jobs = await client.query(
        'select job_id, job_timestamp::float8 as ts from watchtower_jobs order by job_id',
      );
      expect(jobs.rows).toEqual([
        { job_id: '1', ts: queuedMs },
        { job_id: '2', ts: queuedMs + 5 },
      ]);
      const attempts = await client.query(
        'select job_id, attempt, job_timestamp::float8 as ts from watchtower_job_attempts order by job_id, attempt',
      );
      expect(attempts.rows).toEqual([
        { job_id: '1', attempt: 1, ts: queuedMs },
        { job_id: '1', attempt: 2, ts: queuedMs },
        // No job row to take it from: dated by its own start.
        { job_id: 'gone', attempt: 1, ts: queuedMs + 900 },
      ]);
      const required = await client.query(
        `select is_nullable from information_schema.columns
         where table_name = 'watchtower_job_attempts' and column_name = 'job_timestamp'`,
      );
      expect(required.rows).toEqual([{ is_nullable: 'NO' }]);
      // The recorder writes it from now on; a new job under a recorded id is a row of its own.
      const column = await client.query(
        `select is_generated, is_nullable from information_schema.columns
         where table_name = 'watchtower_jobs' and column_name = 'job_timestamp'`,
      );
      expect(column.rows).toEqual([{ is_generated: 'NEVER', is_nullable: 'NO' }]);
      await client.query(
        `insert into watchtower_jobs (job_id, job_timestamp, queue, status, queued_at)
         values ('1', $1::bigint, 'mail', 'queued', to_timestamp($1::bigint / 1000.0))`,
        [queuedMs + 60_000],
      );
      const reused = await client.query(`select count(*)::int as n from watchtower_jobs where job_id = '1'`);
      expect(reused.rows).toEqual([{ n: 2 }]);
    } finally {
      await client.end();
    }
  });
});
