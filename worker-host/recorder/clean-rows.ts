import type { AttemptRow, JobRow, RowBatch } from './record-batch';
import { cleanText, cutText, storableJson } from './storable';

/**
 * The recorder's own defence, on every batch it writes (live, replayed from the spool, found by the
 * sweep): worker processes send their events clean (worker-job-events.ts), but a tuple from IPC
 * and a spool line are input like any other. Text fields are cleaned of NUL and lone surrogates,
 * JSON fields of what `jsonb` refuses, and any text past TEXT_CEILING is cut, so no value's content
 * can make Postgres refuse the flush statement. One regular expression test per string on the
 * happy path; values repeated row after row (connection, queue, worker, host) are tested once.
 */

/**
 * No recorded text is longer than this many characters. A worker process caps payloads and
 * results at 16 KB and messages at that many characters; what JSON.stringify makes of a cut payload
 * (every quote escaped, a control character as six) stays below it. Only a hostile sender reaches it.
 */
export const TEXT_CEILING = 128 * 1024;

type Field<Row> = { [K in keyof Row]-?: Row[K] extends string | undefined ? K : never }[keyof Row];

const JOB_TEXT: Field<JobRow>[] = ['connection', 'queue', 'jobId', 'name', 'workerId', 'exception'];
const ATTEMPT_TEXT: Field<AttemptRow>[] = [
  'connection',
  'queue',
  'jobId',
  'workerId',
  'hostId',
  'errorMessage',
  'errorStack',
];

/** A text value as the recorder stores it: how the sweep looks a job id up. */
export function storedText(value: string): string {
  return cleanText(cutText(value, TEXT_CEILING));
}

/** Makes the batch's rows storable in place; returns how many rows had to change. */
export function cleanRows(batch: RowBatch): number {
  let changed = 0;
  // The last value found clean in each field: a batch repeats its connection, queue, worker and
  // often its job name row after row, and comparing with it is cheaper than testing again.
  const lastJob: unknown[] = new Array(JOB_TEXT.length);
  const lastAttempt: unknown[] = new Array(ATTEMPT_TEXT.length);
  for (const row of batch.jobs) {
    let rowChanged = cleanFields(row, JOB_TEXT, lastJob);
    if (row.payload !== undefined) {
      const payload = storableJsonField(row.payload);
      if (payload.text !== row.payload) {
        row.payload = payload.text as string;
        if (payload.cut) row.payloadTruncated = true;
        rowChanged = true;
      }
    }
    if (row.result !== undefined) {
      const result = storableJsonField(row.result);
      if (result.text !== row.result) {
        row.result = result.text as string;
        rowChanged = true;
      }
    }
    if (rowChanged) {
      row.sanitized = true;
      changed++;
    }
  }
  for (const row of batch.attempts) {
    if (cleanFields(row, ATTEMPT_TEXT, lastAttempt)) changed++;
  }
  return changed;
}

function cleanFields<Row extends object>(row: Row, fields: (keyof Row)[], lastClean: unknown[]): boolean {
  let changed = false;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as keyof Row;
    const value: unknown = row[field];
    if (value === undefined || value === lastClean[i]) continue;
    // Only strings are checked: a value of another type is the statement's to refuse (dead-lettered).
    if (typeof value !== 'string') continue;
    const clean = storedText(value);
    if (clean === value) lastClean[i] = value;
    else {
      (row as Record<keyof Row, unknown>)[field] = clean;
      changed = true;
    }
  }
  return changed;
}

function storableJsonField(value: unknown): { text: unknown; cut: boolean } {
  if (typeof value !== 'string') return { text: value, cut: false };
  if (value.length > TEXT_CEILING) {
    // Kept as a JSON string of its start, as a worker process keeps a payload cut for size.
    return { text: JSON.stringify(cleanText(cutText(value, TEXT_CEILING / 2))), cut: true };
  }
  const storable = storableJson(value);
  return { text: storable.text, cut: storable.cut };
}
