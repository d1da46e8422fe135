import { createInterface } from 'node:readline/promises';
import { type SQL, sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../core/db/database';
import { deleteJobBatch, finishedBefore } from '../../core/db/prune-jobs';
import { createNodeDatabase } from '../db/node-database';
import { type CliCommand, databaseUrl, numberOption, parse, print, UsageError } from './cli-support';

const usage = `Usage: watchtower prune [--completed=days] [--failed=days] [--dry-run]
       watchtower prune --all [--force] [--dry-run]

Deletes old job records (watchtower_jobs and their attempts) from Postgres, in bounded batches so
the dashboard and the recorder keep running meanwhile. BullMQ's own data is not touched.

Options:
  --completed=days  Delete completed (and deleted) jobs finished more than this many days ago
                    (default 7); 0 keeps them forever, as WATCHTOWER_RETENTION_COMPLETED_DAYS=0 does
  --failed=days     Delete failed jobs finished more than this many days ago (default 30); 0 keeps
                    them forever, as WATCHTOWER_RETENTION_FAILED_DAYS=0 does
  --all             Delete every job record, whatever its age or status (asks first)
  --force           Do not ask before --all
  --dry-run         Print how many records would be deleted, and delete nothing
  --batch=n         Rows per statement (default 5000)
  -h, --help        Show this help`;

export const command: CliCommand = {
  name: 'prune',
  summary: 'Delete old job records from Postgres',
  usage,
  async run(argv) {
    const { values } = parse('prune', argv, {
      completed: { type: 'string' },
      failed: { type: 'string' },
      all: { type: 'boolean' },
      force: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      batch: { type: 'string' },
    });
    if (values.help) {
      print(usage);
      return 0;
    }
    const completedDays = numberOption('completed', values.completed, 7, { max: 36_500 });
    const failedDays = numberOption('failed', values.failed, 30, { max: 36_500 });
    const batch = numberOption('batch', values.batch, 5000, { min: 1, max: 100_000, integer: true });
    if (values.all && (values.completed !== undefined || values.failed !== undefined)) {
      throw new UsageError('--all deletes every record: it cannot be combined with --completed or --failed');
    }
    const dryRun = values['dry-run'] === true;
    const database = createNodeDatabase(databaseUrl(), { max: 1 });
    try {
      if (values.all) {
        if (dryRun) {
          const { jobs, attempts } = await countWhere(database.db, sql`true`);
          print(`Would delete ${jobs} job record(s) (${attempts} attempt(s)). Nothing deleted (--dry-run).`);
          return 0;
        }
        if (!values.force && !(await confirm('Delete EVERY job record (all statuses, all ages)?'))) {
          print('Nothing deleted.');
          return 1;
        }
        const deleted = await pruneWhere(database.db, sql`true`, batch);
        print(`Deleted ${deleted} job record(s).`);
        return 0;
      }
      // 0 days keeps the records forever, as in the retention variables; deleting every record of
      // a status takes --all, which asks first.
      const run = async (days: number, statuses: readonly string[]) => {
        if (days === 0) return undefined;
        // The conditions are the completed_at index's, so each batch is a short index scan.
        const condition = finishedBefore(statuses, days);
        return dryRun
          ? (await countWhere(database.db, condition)).jobs
          : pruneWhere(database.db, condition, batch);
      };
      const completed = await run(completedDays, ['completed', 'deleted']);
      const failed = await run(failedDays, ['failed']);
      const completedPart =
        completed === undefined
          ? 'no completed job records (--completed=0 keeps them forever)'
          : `${completed} completed job record(s) older than ${completedDays} day(s)`;
      const failedPart =
        failed === undefined
          ? 'no failed ones (--failed=0 keeps them forever)'
          : `${failed} failed one(s) older than ${failedDays} day(s)`;
      print(
        dryRun
          ? `Would delete ${completedPart} and ${failedPart}. Nothing deleted (--dry-run).`
          : `Deleted ${completedPart} and ${failedPart}.`,
      );
      return 0;
    } finally {
      await database.close().catch(() => undefined);
    }
  },
};

/** What `pruneWhere` would delete: the matching jobs and their attempts. */
export async function countWhere(db: Database, condition: SQL): Promise<{ jobs: number; attempts: number }> {
  const rows = rowsOf<{ jobs: number; attempts: number }>(
    await db.execute(sql`
      with doomed as (select connection, queue, job_id from watchtower_jobs where ${condition})
      select (select count(*) from doomed)::int as jobs,
             (select count(*) from watchtower_job_attempts a join doomed d
                on a.connection = d.connection and a.queue = d.queue and a.job_id = d.job_id)::int as attempts`),
  );
  return { jobs: Number(rows[0]?.jobs ?? 0), attempts: Number(rows[0]?.attempts ?? 0) };
}

/** Deletes matching jobs and their attempts, `batch` jobs per statement, until none is left. */
export async function pruneWhere(db: Database, condition: SQL, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { jobs } = await deleteJobBatch(db, condition, batch);
    total += jobs;
    if (jobs < batch) return total;
  }
}

/** Asks on the terminal; without one, refuses (use --force in scripts). */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UsageError('prune --all asks before deleting, and there is no terminal to ask on: add --force');
  }
  const readline = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await readline.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    readline.close();
  }
}
