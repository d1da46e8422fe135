import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY } from '../security-headers';

/** Sets the security headers on every answer of the app, errors and 304s included; HSTS over https. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async function setSecurityHeaders(c, next) {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (new URL(c.req.url).protocol === 'https:') {
      c.res.headers.set('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
    }
  };
}
