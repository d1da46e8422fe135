import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Stable, machine-readable error codes of the API. Clients switch on these, never on messages. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'misconfigured'
  | 'unavailable'
  | 'internal_error';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/**
 * The one exception routes and middleware throw to answer with an error. `app.onError` renders it,
 * so every error response has the same shape: `{ error: { code, message, details? } }`.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Response headers that belong with the error (`Retry-After`, `WWW-Authenticate`). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** A deployment problem (a missing secret, an unknown driver): the operator, not the client, must act. */
export function misconfigured(message: string): HttpError {
  return new HttpError(500, 'misconfigured', message);
}

/**
 * Postgres cancelled one of the request's statements at the statement timeout
 * (WATCHTOWER_STATEMENT_TIMEOUT_MS): the database is busy or the filter too costly. 503, so that
 * clients treat it like any other passing unavailability; the statement (and its transaction) was rolled back.
 */
export function queryTimedOut(): HttpError {
  return new HttpError(
    503,
    'unavailable',
    'The database query took too long and was cancelled: try again, or narrow the filter (a queue, a status or a time range)',
  );
}
