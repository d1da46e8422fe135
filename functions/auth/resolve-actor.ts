import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { AccessKeysUnavailableError, AccessTokenError, accessConfig, verifyAccessJwt } from './access';
import type { Actor } from './actor';
import { authenticateApiToken, looksLikeApiToken } from './api-tokens';
import { secretsEqual } from './crypto';
import { authenticateSession, SESSION_COOKIE, sessionCookiePrefix } from './sessions';
import { findUserByEmail } from './users';

export const ACCESS_HEADER = 'cf-access-jwt-assertion';

export interface ResolvedActor {
  actor: Actor;
  /**
   * True when the browser sent the credential by itself (a session cookie, a person's Access
   * login): such requests can be forged by another site, so writes must prove they come from ours.
   */
  ambient: boolean;
  /** The session's id, for logging out. */
  sessionId?: string;
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'unauthorized', message, undefined, {
    'WWW-Authenticate': 'Bearer realm="watchtower"',
  });
}

/**
 * Works out who is calling, from (in this order, the first present one decides):
 * `Authorization: Bearer` (an API token or the bootstrap admin token), a Cloudflare Access JWT
 * (when Access is configured), the `wt_session` cookie (`__Host-wt_session` over https). A credential that is present but invalid
 * is refused outright rather than falling through to the next one.
 */
export async function resolveActor(c: Context<AppEnv>): Promise<ResolvedActor> {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw unauthorized('The Authorization header must be "Bearer <token>"');
    return { actor: await actorForBearer(c, match[1]), ambient: false };
  }

  const access = accessConfig(c.env);
  const assertion = c.req.header(ACCESS_HEADER);
  if (access && assertion !== undefined) {
    let identity: Awaited<ReturnType<typeof verifyAccessJwt>>;
    try {
      identity = await verifyAccessJwt(assertion, access);
    } catch (error) {
      if (error instanceof AccessTokenError)
        throw unauthorized(`Cloudflare Access token refused: ${error.message}`);
      if (error instanceof AccessKeysUnavailableError) {
        console.error(`watchtower: ${error.message}`);
        throw new HttpError(503, 'unavailable', 'Cannot verify the Cloudflare Access token right now');
      }
      throw error;
    }
    if (identity.email === null) {
      // A service token: automation, not a browser, so no cross-site risk.
      const name = identity.commonName ?? identity.sub;
      return {
        actor: { kind: 'access', id: `access-service:${name}`, name, role: access.defaultRole },
        ambient: false,
      };
    }
    const user = await findUserByEmail(c.get('services').db, identity.email);
    if (user?.disabled) throw unauthorized('This user is disabled');
    const actor: Actor = user
      ? { kind: 'access', id: user.id, name: user.email, role: user.role }
      : { kind: 'access', id: `access:${identity.sub}`, name: identity.email, role: access.defaultRole };
    return { actor, ambient: true };
  }

  const cookie = getCookie(c, SESSION_COOKIE, sessionCookiePrefix(c.req.url));
  if (cookie !== undefined) {
    const session = await authenticateSession(c.get('services').db, cookie);
    if (!session) throw unauthorized('The session has expired or was ended; log in again');
    return { actor: session.actor, ambient: true, sessionId: session.sessionId };
  }

  throw unauthorized('Authentication required: send "Authorization: Bearer <token>" or log in');
}

async function actorForBearer(c: Context<AppEnv>, token: string): Promise<Actor> {
  const bootstrap = c.env.WATCHTOWER_ADMIN_TOKEN?.trim();
  // Compared in constant time whatever the token looks like, so timing does not reveal it.
  if (bootstrap && (await secretsEqual(token, bootstrap))) {
    return { kind: 'bootstrap', id: 'bootstrap', name: 'WATCHTOWER_ADMIN_TOKEN', role: 'admin' };
  }
  if (looksLikeApiToken(token)) {
    const actor = await authenticateApiToken(c.get('services').db, token);
    if (actor) return actor;
  }
  throw unauthorized('The API token is invalid, revoked or expired');
}
