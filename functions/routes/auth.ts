import { createRoute } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import { createRouter } from '../app';
import { clientIp, recordAudit, recordRefusal } from '../audit';
import { login } from '../auth/login';
import { firstCrossSiteLogin } from '../auth/login-rate-limit';
import { revokeSession, SESSION_COOKIE, SESSION_TTL_SECONDS, sessionCookiePrefix } from '../auth/sessions';
import { getUser } from '../auth/users';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common';
import { LoginBodySchema, LoginResponseSchema, MeResponseSchema, userBody } from '../schemas/security';

const COOKIE_OPTIONS = { path: '/', httpOnly: true, secure: true, sameSite: 'Strict' } as const;

const loginRoute = createRoute({
  method: 'post',
  path: '/login',
  tags: ['auth'],
  summary: 'Log in with email and password',
  description:
    'Starts a browser session: sets the `wt_session` cookie (HttpOnly, Secure, SameSite=Strict; ' +
    'named `__Host-wt_session` over https). ' +
    'Attempts are limited per address and email, per address and per email (429 with Retry-After).',
  security: [],
  request: { body: jsonBody(LoginBodySchema) },
  responses: {
    200: jsonResponse(LoginResponseSchema, 'Logged in; the session cookie is set'),
    ...errorResponses(400, 401, 403, 413, 415, 429),
  },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/logout',
  tags: ['auth'],
  summary: 'End the browser session',
  ...withRole('viewer'),
  responses: { 204: { description: 'Logged out; the cookie is cleared' }, ...errorResponses(401, 403) },
});

const meRoute = createRoute({
  method: 'get',
  path: '/me',
  tags: ['auth'],
  summary: 'Who the credentials belong to',
  ...withRole('viewer'),
  responses: {
    200: jsonResponse(MeResponseSchema, 'The actor, and its user when it is one'),
    ...errorResponses(401),
  },
});

export const auth = createRouter()
  .openapi(loginRoute, async (c) => {
    // Login CSRF: another site must not log a visitor into an account of its choosing.
    const origin = c.req.header('origin');
    if (
      (origin !== undefined && origin !== new URL(c.req.url).origin) ||
      c.req.header('sec-fetch-site') === 'cross-site'
    ) {
      if (await firstCrossSiteLogin(c.get('services').db, clientIp(c))) {
        await recordRefusal(c, {
          action: 'auth.csrf',
          targetType: 'route',
          targetId: 'POST /api/auth/login',
          details: {
            reason: 'cross-site login',
            origin: origin?.slice(0, 512) ?? null,
            note: 'first from this address in this 15-minute window; the next ones are not written',
          },
        });
      }
      throw new HttpError(403, 'forbidden', 'Cross-site login refused');
    }
    const result = await login(c, c.req.valid('json'));
    setCookie(c, SESSION_COOKIE, result.cookieValue, {
      ...COOKIE_OPTIONS,
      maxAge: SESSION_TTL_SECONDS,
      prefix: sessionCookiePrefix(c.req.url),
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ user: userBody(result.user), expiresAt: result.expiresAt.toISOString() }, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const sessionId = c.get('sessionId');
    if (sessionId !== undefined) {
      await revokeSession(c.get('services').db, sessionId);
      await recordAudit(c, {
        action: 'auth.logout',
        targetType: 'user',
        targetId: c.get('actor').id,
        result: 'ok',
      });
    }
    deleteCookie(c, SESSION_COOKIE, { ...COOKIE_OPTIONS, prefix: sessionCookiePrefix(c.req.url) });
    return c.body(null, 204);
  })
  .openapi(meRoute, async (c) => {
    const actor = c.get('actor');
    const user =
      actor.kind === 'session' || actor.kind === 'access'
        ? await userOf(c.get('services').db, actor.id)
        : null;
    c.header('Cache-Control', 'no-store');
    return c.json({ actor, user: user ? userBody(user) : null }, 200);
  });

/** An Access identity without a user has an id like `access:<sub>`, not a uuid. */
async function userOf(db: Parameters<typeof getUser>[0], id: string) {
  return /^[0-9a-f-]{36}$/.test(id) ? getUser(db, id) : null;
}
