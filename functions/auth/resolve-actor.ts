import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { clientIp, recordAudit } from '../audit';
import { adminToken } from '../config';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { AccessKeysUnavailableError, AccessTokenError, accessConfig, verifyAccessJwt } from './access';
import type { Actor } from './actor';
import { authenticateApiToken, looksLikeApiToken } from './api-tokens';
import { secretsEqual } from './crypto';
import {
  BEARER_FAILURE_LIMIT,
  bearerKey,
  bearerThrottled,
  countBearerFailure,
  tooManyAttempts,
} from './login-rate-limit';
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
        actor: { kind: 'access', id: `access-service:${name}`, name, role: access.serviceRole },
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

/**
 * Failed bearer tokens are counted per address (see login-rate-limit.ts): past
 * BEARER_FAILURE_LIMIT a window, the address gets 429 for every bearer request, valid or not (so
 * the answer tells a guesser nothing), without the token being looked at. The audit log gets the
 * window's first failure and the one that reached the limit, not every guess.
 */
async function actorForBearer(c: Context<AppEnv>, token: string): Promise<Actor> {
  const db = c.get('services').db;
  const key = await bearerKey(clientIp(c));
  const [blocked, actor] = await Promise.all([
    key === null ? null : bearerThrottled(db, key),
    identifyBearer(c, token),
  ]);
  if (blocked) throw blocked;
  if (actor) return actor;
  if (key !== null) {
    const { failures, retryAfterSeconds } = await countBearerFailure(db, key);
    if (failures === 1 || failures === BEARER_FAILURE_LIMIT) {
      await recordAudit(
        c,
        {
          action: 'auth.token',
          targetType: 'token',
          result: 'error',
          details: {
            reason: 'invalid token',
            failuresThisWindow: failures,
            note:
              failures === 1
                ? 'first invalid token from this address in this 15-minute window; the next ones are not written until the limit'
                : `limit of ${BEARER_FAILURE_LIMIT} reached: this address gets 429 until the window ends`,
          },
        },
        { actor: null },
      );
    }
    if (failures > BEARER_FAILURE_LIMIT)
      throw tooManyAttempts('Too many invalid tokens from this address', retryAfterSeconds);
  }
  throw unauthorized('The API token is invalid, revoked or expired');
}

async function identifyBearer(c: Context<AppEnv>, token: string): Promise<Actor | null> {
  const bootstrap = adminToken(c.env);
  // Compared in constant time whatever the token looks like, so timing does not reveal it.
  if (bootstrap && (await secretsEqual(token, bootstrap))) {
    return { kind: 'bootstrap', id: 'bootstrap', name: 'WATCHTOWER_ADMIN_TOKEN', role: 'admin' };
  }
  if (!looksLikeApiToken(token)) return null;
  const access = accessConfig(c.env);
  return authenticateApiToken(c.get('services').db, token, {
    accessRole: access?.defaultRole ?? null,
    accessServiceRole: access?.serviceRole ?? null,
  });
}
