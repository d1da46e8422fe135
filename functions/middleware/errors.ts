import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isStatementCancelled } from '../../core/db/statement-timeout';
import type { AppEnv } from '../env';
import { type ErrorCode, HttpError, queryTimedOut } from '../http-error';

const CODES_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** Renders every error once, in one shape. Unknown errors are logged and answered without details. */
export function errorHandler(): ErrorHandler<AppEnv> {
  return function renderError(error, c) {
    if (error instanceof HttpError) {
      if (error.status >= 500) console.error(`watchtower: ${error.code}: ${error.message}`);
      return c.json(error.toBody(), error.status, error.headers ? { ...error.headers } : undefined);
    }
    if (isStatementCancelled(error)) {
      const timedOut = queryTimedOut();
      console.error(
        `watchtower: ${timedOut.code}: a statement hit the statement timeout on ${c.req.method} ${c.req.path}`,
      );
      return c.json(timedOut.toBody(), timedOut.status);
    }
    if (error instanceof HTTPException) {
      // Hono's own exceptions (body limit, malformed JSON): keep the status, use our shape.
      const status = error.status as ContentfulStatusCode;
      const code = CODES_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
      return c.json(new HttpError(status, code, error.message || 'Request failed').toBody(), status);
    }
    console.error('watchtower: unhandled error:', error);
    return c.json(new HttpError(500, 'internal_error', 'Internal server error').toBody(), 500);
  };
}

/** Unknown routes answer the same JSON shape as every other error. */
export function notFoundHandler(): NotFoundHandler<AppEnv> {
  return function renderNotFound(c) {
    const error = new HttpError(404, 'not_found', `No route for ${c.req.method} ${c.req.path}`);
    return c.json(error.toBody(), 404);
  };
}
