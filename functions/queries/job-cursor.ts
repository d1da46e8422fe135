import { HttpError } from '../http-error';

/**
 * The jobs lists page by key, never by OFFSET: a cursor is the (queued_at, id) of the last row of
 * the page, base64url-encoded. queued_at keeps Postgres's microseconds: a millisecond copy would
 * skip or repeat rows queued within the same millisecond.
 */
export interface JobCursor {
  queuedAt: string;
  id: number;
}

const QUEUED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

export function encodeJobCursor(cursor: JobCursor): string {
  return btoa(JSON.stringify([cursor.queuedAt, cursor.id]))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** Throws 400 for anything this API did not hand out. */
export function decodeJobCursor(text: string): JobCursor {
  let parsed: unknown;
  try {
    const base64 = text.replaceAll('-', '+').replaceAll('_', '/');
    parsed = JSON.parse(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === 'string' &&
    QUEUED_AT.test(parsed[0]) &&
    isRealTime(parsed[0]) &&
    Number.isSafeInteger(parsed[1]) &&
    parsed[1] > 0
  ) {
    return { queuedAt: parsed[0], id: parsed[1] };
  }
  throw new HttpError(400, 'bad_request', 'Invalid request query: cursor: not a cursor this API handed out', [
    {
      location: 'query',
      path: ['cursor'],
      code: 'invalid_cursor',
      message: 'not a cursor this API handed out',
    },
  ]);
}

/** A time Postgres reads as written: not 2026-02-30 (which Date.parse rolls over) nor year 0. */
function isRealTime(text: string): boolean {
  const ms = Date.parse(text);
  return (
    !Number.isNaN(ms) &&
    !text.startsWith('0000-') &&
    new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19)
  );
}
