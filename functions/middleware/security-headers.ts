import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { SECURITY_HEADERS } from '../security-headers';

/** Sets the security headers on every answer of the app, errors and 304s included. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async function setSecurityHeaders(c, next) {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  };
}
