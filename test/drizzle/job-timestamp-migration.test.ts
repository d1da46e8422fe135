import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../drizzle/migrate';
import { migrateThrough, scratchDatabase } from '../support/migrations';

/** The last migration before jobs were keyed by BullMQ's timestamp too. */
const BEFORE = '0013_job_attempts_running';

// A database with jobs recorded before job timestamps were kept, migrated to now: every job and
// attempt gets its job's timestamp, and nothing is lost.
describe('the job timestamp migrations', () => {
  const database = scratchDatabase('watchtower_jobts');
  const url = database.url;

  afterAll(() => database.drop());

  it('gives existing jobs and their attempts the timestamp of their job', async () => {
    // The migrations up to BEFORE, as a database deployed then has them.
    await migrateThrough(url, { through: BEFORE });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
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

      await migrateDatabase(url);

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
