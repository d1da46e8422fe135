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
 * No recorded text is longer than this many characters with the default payload cap. A worker
 * process caps payloads and results at 16 KB and messages at that many characters; what
 * JSON.stringify makes of a cut payload (every quote escaped, a control character as six) stays
 * below it. Only a hostile sender reaches it. A host with a bigger cap (recorder.maxPayloadBytes)
 * passes its own ceiling (payload-cap.ts, textCeilingFor).
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

/**
 * Makes the batch's rows storable in place; returns how many rows had to change. Data, result and
 * exception are cut past `ceiling` characters (the host's, from its payload cap); ids and names
 * past TEXT_CEILING.
 */
export function cleanRows(batch: RowBatch, ceiling: number = TEXT_CEILING): number {
  let changed = 0;
  // The last value found clean in each field: a batch repeats its connection, queue, worker and
  // often its job name row after row, and comparing with it is cheaper than testing again.
  const lastJob: unknown[] = new Array(JOB_TEXT.length);
  const lastAttempt: unknown[] = new Array(ATTEMPT_TEXT.length);
  for (const row of batch.jobs) {
    let rowChanged = cleanFields(row, JOB_TEXT, lastJob, ceiling);
    if (row.payload !== undefined) {
      const payload = storableJsonField(row.payload, ceiling);
      if (payload.text !== row.payload) {
        row.payload = payload.text as string;
        if (payload.cut) row.payloadTruncated = true;
        rowChanged = true;
      }
    }
    if (row.result !== undefined) {
      const result = storableJsonField(row.result, ceiling);
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
    if (cleanFields(row, ATTEMPT_TEXT, lastAttempt, ceiling)) changed++;
  }
  return changed;
}

/** The fields that may hold a whole error message, which a worker process caps like a payload. */
const MESSAGE_FIELDS: ReadonlySet<PropertyKey> = new Set(['exception', 'errorMessage']);

function cleanFields<Row extends object>(
  row: Row,
  fields: (keyof Row)[],
  lastClean: unknown[],
  ceiling: number,
): boolean {
  let changed = false;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as keyof Row;
    const value: unknown = row[field];
    if (value === undefined || value === lastClean[i]) continue;
    // Only strings are checked: a value of another type is the statement's to refuse (dead-lettered).
    if (typeof value !== 'string') continue;
    const clean = MESSAGE_FIELDS.has(field) ? cleanText(cutText(value, ceiling)) : storedText(value);
    if (clean === value) lastClean[i] = value;
    else {
      (row as Record<keyof Row, unknown>)[field] = clean;
      changed = true;
    }
  }
  return changed;
}

function storableJsonField(value: unknown, ceiling: number): { text: unknown; cut: boolean } {
  if (typeof value !== 'string') return { text: value, cut: false };
  if (value.length > ceiling) {
    // Kept as a JSON string of its start, as a worker process keeps a payload cut for size.
    return { text: JSON.stringify(cleanText(cutText(value, ceiling / 2))), cut: true };
  }
  const storable = storableJson(value);
  return { text: storable.text, cut: storable.cut };
}
