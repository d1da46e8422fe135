import type { MiddlewareHandler } from 'hono';
import { recordRefusal } from '../audit';
import { resolveActor } from '../auth/resolve-actor';
import { adminToken } from '../config';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';

export interface AuthenticateOptions {
  /** Method and exact path of the routes that answer without credentials. */
  publicRoutes?: readonly { method: string; path: string }[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Sets `c.get('actor')` for every request it guards, or answers 401 `unauthorized`. Writes
 * authenticated by something the browser sends on its own (the session cookie, a person's Access
 * login) must come from this site: 403 `forbidden` otherwise, so another site cannot make a
 * logged-in browser stop workers or create tokens.
 */
export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  const publicRoutes = options.publicRoutes ?? [];
  return async function authenticateRequest(c, next) {
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (publicRoutes.some((route) => route.method === method && route.path === c.req.path)) {
      await next();
      return;
    }
    // A too-short bootstrap secret refuses everything behind authentication, whoever asks, so
    // the operator notices at once instead of running with a guessable admin credential.
    adminToken(c.env);
    const resolved = await resolveActor(c);
    c.set('actor', resolved.actor);
    if (resolved.ambient && !SAFE_METHODS.has(c.req.method)) {
      try {
        assertSameOrigin(c.req.raw);
      } catch (error) {
        if (error instanceof HttpError) {
          await recordRefusal(c, {
            action: 'auth.csrf',
            targetType: 'route',
            targetId: `${c.req.method} ${c.req.path.slice(0, 512)}`,
            details: {
              reason: error.message.slice(0, 512),
              origin: c.req.header('origin')?.slice(0, 512) ?? null,
            },
          });
        }
        throw error;
      }
    }
    if (resolved.sessionId !== undefined) c.set('sessionId', resolved.sessionId);
    await next();
  };
}

/**
 * Refuses a request another site could have made: the Origin header (sent by browsers on every
 * cross-origin request and on same-origin writes) must be ours; without it, Sec-Fetch-Site must
 * say same-origin. A client sending neither is not a browser we can vouch for: use an API token.
 */
export function assertSameOrigin(request: Request): void {
  const origin = request.headers.get('origin');
  const expected = new URL(request.url).origin;
  if (origin !== null) {
    if (origin === expected) return;
    throw new HttpError(403, 'forbidden', `Cross-site request refused: Origin ${origin} is not ${expected}`);
  }
  const site = request.headers.get('sec-fetch-site');
  if (site === 'same-origin') return;
  throw new HttpError(
    403,
    'forbidden',
    site === null
      ? 'A write with a cookie needs an Origin header from this site; automation should use an API token'
      : `Cross-site request refused (Sec-Fetch-Site: ${site})`,
  );
}
