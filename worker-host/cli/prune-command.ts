import { createInterface } from 'node:readline/promises';
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../core/db/database';
import { deleteJobBatch, finishedBefore } from '../../core/db/prune-jobs';
import { createNodeDatabase } from '../db/node-database';
import { type CliCommand, databaseUrl, numberOption, parse, print, UsageError } from './cli-support';

const usage = `Usage: watchtower prune [--completed=days] [--failed=days] [--all [--force]]

Deletes old job records (watchtower_jobs and their attempts) from Postgres, in bounded batches so
the dashboard and the recorder keep running meanwhile. BullMQ's own data is not touched.

Options:
  --completed=days  Delete completed (and deleted) jobs finished more than this many days ago (default 7)
  --failed=days     Delete failed jobs finished more than this many days ago (default 30)
  --all             Delete every job record, whatever its age or status (asks first)
  --force           Do not ask before --all
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
    const database = createNodeDatabase(databaseUrl(), { max: 1 });
    try {
      if (values.all) {
        if (!values.force && !(await confirm('Delete EVERY job record (all statuses, all ages)?'))) {
          print('Nothing deleted.');
          return 1;
        }
        const deleted = await pruneWhere(database.db, sql`true`, batch);
        print(`Deleted ${deleted} job record(s).`);
        return 0;
      }
      // The same conditions as the completed_at index, so each batch is a short index scan.
      const completed = await pruneWhere(
        database.db,
        finishedBefore(['completed', 'deleted'], completedDays),
        batch,
      );
      const failed = await pruneWhere(database.db, finishedBefore(['failed'], failedDays), batch);
      print(
        `Deleted ${completed} completed job record(s) older than ${completedDays} day(s) and ${failed} failed one(s) older than ${failedDays} day(s).`,
      );
      return 0;
    } finally {
      await database.close().catch(() => undefined);
    }
  },
};

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
