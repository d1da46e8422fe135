import { sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../core/db/database';
import type { RowBatch } from './record-batch';
import { cleanText, cutText } from './storable';

/**
 * Rows Postgres refuses for what they hold, set aside so they never hold back the rows behind them.
 *
 * A flush statement is all or nothing: one refused row refuses its whole batch, and retrying it
 * refuses it again for ever. A refusal that no retry fixes (a data error) splits the batch in
 * halves, written on their own, until each refused row stands alone; that row goes to
 * `watchtower_recorder_dead_letters` with the error, and is counted. A passing failure (the
 * connection, a restart, a deadlock) is not split: the caller retries and spools as before.
 * Every statement is idempotent (flush-statement.ts), so rewriting a half changes nothing twice.
 */

/**
 * SQLSTATE classes of a refusal caused by the rows themselves: 21 cardinality (two rows that
 * became one job), 22 data exception (NUL, bad JSON, a number or time out of range), 23 integrity
 * constraint, 54 program limit (nesting, sizes). Everything else (08 connection, 53 resources,
 * 57 operator intervention, 40 serialization and deadlock, 42 a schema older than the code, a
 * driver error without a code) is retried: it is not the rows' fault.
 */
const ROW_CLASSES: ReadonlySet<string> = new Set(['21', '22', '23', '54']);
const SQLSTATE = /^[0-9A-Z]{5}$/;

export interface Refusal {
  /** The SQLSTATE, or undefined when the statement could not even be built from the rows. */
  sqlstate: string | undefined;
  message: string;
}

/** Thrown when a batch's rows cannot be made into a statement at all (rows of the wrong shape). */
export class UnwritableRows extends Error {
  constructor(cause: unknown) {
    super(`rows that cannot be written: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'UnwritableRows';
  }
}

/** The refusal, when `error` is one that retrying the same rows cannot fix; undefined otherwise. */
export function rowRefusal(error: unknown): Refusal | undefined {
  if (error instanceof UnwritableRows) return { sqlstate: undefined, message: error.message };
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && SQLSTATE.test(code)) {
      return ROW_CLASSES.has(code.slice(0, 2)) ? { sqlstate: code, message: current.message } : undefined;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function rowCount(batch: RowBatch): number {
  return batch.jobs.length + batch.attempts.length;
}

/** The batch in two, by its rows taken jobs first: each half has at least one row when it has two. */
export function halves(batch: RowBatch): [RowBatch, RowBatch] {
  const middle = Math.floor(rowCount(batch) / 2);
  const jobs = Math.min(middle, batch.jobs.length);
  const attempts = middle - jobs;
  return [
    { jobs: batch.jobs.slice(0, jobs), attempts: batch.attempts.slice(0, attempts) },
    { jobs: batch.jobs.slice(jobs), attempts: batch.attempts.slice(attempts) },
  ];
}

/**
 * Writes the batch with `write`; on a refusal of its rows, splits it until the refused rows stand
 * alone and hands each to `setAside`. A passing failure is thrown as it came.
 */
export async function writeSettingAside(
  batch: RowBatch,
  write: (batch: RowBatch) => Promise<void>,
  setAside: (row: RowBatch, refusal: Refusal) => Promise<void>,
): Promise<void> {
  try {
    await write(batch);
  } catch (error) {
    const refusal = rowRefusal(error);
    const rows = rowCount(batch);
    // An empty batch refused is no row's fault: thrown, like a passing failure.
    if (!refusal || rows === 0) throw error;
    if (rows === 1) return setAside(batch, refusal);
    const [first, second] = halves(batch);
    await writeSettingAside(first, write, setAside);
    await writeSettingAside(second, write, setAside);
  }
}

/** A dead letter's row is kept up to this many characters of its JSON. */
export const DEAD_LETTER_ROW_CAP = 64 * 1024;
const DEAD_LETTER_ERROR_CAP = 2_000;
const INT_MAX = 2 ** 31 - 1;

/**
 * Stores one refused row with its error; true when stored, false when the same row was already
 * there. Every value is made storable first: the row as JSON text (JSON.stringify escapes NUL and
 * lone surrogates, so the text holds neither), the rest cleaned. Throws when Postgres does not take
 * it: the caller tells a passing failure (retry) from a refusal (the row is lost, and counted).
 */
export async function insertDeadLetter(
  db: Database,
  hostId: string,
  single: RowBatch,
  refusal: Refusal,
): Promise<boolean> {
  const kind = single.jobs.length > 0 ? 'job' : 'attempt';
  const raw: unknown = kind === 'job' ? single.jobs[0] : single.attempts[0];
  // A spool line may hold anything where a row should be.
  const row = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  let json: string;
  try {
    json = JSON.stringify(raw) ?? String(raw);
  } catch (error) {
    json = `[unserializable row: ${error instanceof Error ? error.message : String(error)}]`;
  }
  const text = (value: unknown) =>
    cleanText(cutText(typeof value === 'string' ? value : String(value ?? ''), 1_000));
  const attempt = row.attempt;
  const result = await db.execute(sql`
    insert into watchtower_recorder_dead_letters
      (host_id, connection, queue, job_id, kind, attempt, row, row_truncated, error, sqlstate)
    values (${text(hostId)}, ${text(row.connection)}, ${text(row.queue)}, ${text(row.jobId)}, ${kind},
      ${typeof attempt === 'number' && Number.isInteger(attempt) && Math.abs(attempt) <= INT_MAX ? attempt : null},
      ${cleanText(cutText(json, DEAD_LETTER_ROW_CAP))}, ${json.length > DEAD_LETTER_ROW_CAP},
      ${cleanText(cutText(refusal.message, DEAD_LETTER_ERROR_CAP))}, ${refusal.sqlstate ?? null})
    on conflict do nothing
    returning 1`);
  return rowsOf(result).length > 0;
}
