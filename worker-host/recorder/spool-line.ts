import type { RowBatch } from './record-batch';

/**
 * Reads one spool line back as a batch of rows, or undefined when it is not one. A spool file is
 * input like any other: a write cut short by a crash or a full disk, a file edited or planted by
 * hand. A line must be JSON holding `jobs` and `attempts` arrays of objects, which is what the flush
 * statement reads: anything else would make every replay throw at the same line, and the file
 * behind it would wait for ever. What the rows' fields hold is for the write to judge, as it is for
 * rows that never left memory (Postgres refuses a bad value, and the recorder deals with refusals).
 */
export function parseSpoolLine(line: string): RowBatch | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { jobs, attempts } = value;
  if (!Array.isArray(jobs) || !Array.isArray(attempts)) return undefined;
  if (!jobs.every(isRecord) || !attempts.every(isRecord)) return undefined;
  return value as unknown as RowBatch;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
