import type { Env } from '../env';
import { misconfigured } from '../http-error';
import { isRole, type Role } from './actor';
import { base64UrlDecode, utf8 } from './crypto';

/**
 * Cloudflare Access JWTs (`Cf-Access-Jwt-Assertion`), verified here rather than trusted: a Worker
 * reachable without Access (a workers.dev route, a misconfigured policy) must not accept a forged
 * header. RS256 against the team's keys at https://<team>/cdn-cgi/access/certs, fetched with
 * WebCrypto-importable JWKs and cached per isolate.
 */

export interface AccessConfig {
  issuer: string;
  audience: string;
  certsUrl: string;
  defaultRole: Role;
  /** Role of a service token (an identity without an email): WATCHTOWER_ACCESS_SERVICE_ROLE. */
  serviceRole: Role;
}

export interface AccessIdentity {
  sub: string;
  /** A person's identity; absent for a service token. */
  email: string | null;
  /** A service token's client id. */
  commonName: string | null;
}

export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
}

/** Unavailable signing keys: the request cannot be judged, which is not the client's fault. */
export class AccessKeysUnavailableError extends Error {
  override readonly name = 'AccessKeysUnavailableError';
}

const TEAM_DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
// Clock skew allowed between Cloudflare's edge and this isolate.
const LEEWAY_SECONDS = 30;
const KEYS_MAX_AGE_MS = 60 * 60 * 1000;
// An unknown `kid` refetches the keys (they rotate), but at most this often: a stream of garbage
// tokens must not turn into a stream of fetches.
const REFETCH_MIN_INTERVAL_MS = 30 * 1000;
const FETCH_TIMEOUT_MS = 5_000;
// After a failed fetch, the next one waits: 10 s, doubling per failure up to 5 min. Meanwhile
// requests are judged with the keys in hand (stale ones included) or answered 503 at once,
// rather than each waiting up to FETCH_TIMEOUT_MS on an endpoint that is down.
const BACKOFF_FIRST_MS = 10_000;
const BACKOFF_MAX_MS = 5 * 60 * 1000;

/** Null when Access is not configured (both the team domain and the audience are needed). */
export function accessConfig(env: Env): AccessConfig | null {
  const team = env.WATCHTOWER_ACCESS_TEAM_DOMAIN?.trim();
  const audience = env.WATCHTOWER_ACCESS_AUD?.trim();
  if (!team || !audience) return null;
  const host = team
    .replace(/^https:\/\//, '')
    .replace(/\/+$/, '')
    .toLowerCase();
  if (!TEAM_DOMAIN.test(host)) {
    throw misconfigured(
      `WATCHTOWER_ACCESS_TEAM_DOMAIN must be a host name such as acme.cloudflareaccess.com, got ${JSON.stringify(team)}`,
    );
  }
  const role = env.WATCHTOWER_ACCESS_ROLE?.trim() || 'viewer';
  if (!isRole(role)) {
    throw misconfigured(
      `WATCHTOWER_ACCESS_ROLE must be viewer, operator or admin, got ${JSON.stringify(role)}`,
    );
  }
  const serviceRole = env.WATCHTOWER_ACCESS_SERVICE_ROLE?.trim() || 'viewer';
  if (!isRole(serviceRole)) {
    throw misconfigured(
      `WATCHTOWER_ACCESS_SERVICE_ROLE must be viewer, operator or admin, got ${JSON.stringify(serviceRole)}`,
    );
  }
  return {
    issuer: `https://${host}`,
    audience,
    certsUrl: env.WATCHTOWER_ACCESS_CERTS_URL?.trim() || `https://${host}/cdn-cgi/access/certs`,
    defaultRole: role,
    serviceRole,
  };
}

interface JwtHeader {
  alg?: unknown;
  kid?: unknown;
}

interface JwtPayload {
  iss?: unknown;
  aud?: unknown;
  exp?: unknown;
  nbf?: unknown;
  sub?: unknown;
  email?: unknown;
  common_name?: unknown;
}

function decodeJson<T>(segment: string): T | null {
  const bytes = base64UrlDecode(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as T) : null;
  } catch {
    return null;
  }
}

/** Verifies signature, issuer, audience and time; throws AccessTokenError saying what was wrong. */
export async function verifyAccessJwt(
  token: string,
  config: AccessConfig,
  now = Date.now(),
): Promise<AccessIdentity> {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 16_384) throw new AccessTokenError('not a JWT');
  const [headerText, payloadText, signatureText] = parts as [string, string, string];
  const header = decodeJson<JwtHeader>(headerText);
  const payload = decodeJson<JwtPayload>(payloadText);
  const signature = base64UrlDecode(signatureText);
  if (!header || !payload || !signature) throw new AccessTokenError('malformed JWT');
  if (header.alg !== 'RS256') throw new AccessTokenError('unexpected algorithm');
  if (typeof header.kid !== 'string') throw new AccessTokenError('no key id');

  const key = await signingKey(config.certsUrl, header.kid);
  if (!key) throw new AccessTokenError('unknown signing key');
  const valid = await crypto.subtle.verify(
    'RSASSA-PKCS1-v1_5',
    key,
    signature,
    utf8(`${headerText}.${payloadText}`),
  );
  if (!valid) throw new AccessTokenError('bad signature');

  const seconds = Math.floor(now / 1000);
  if (payload.iss !== config.issuer) throw new AccessTokenError('wrong issuer');
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(config.audience)) throw new AccessTokenError('wrong audience');
  if (typeof payload.exp !== 'number' || payload.exp + LEEWAY_SECONDS <= seconds)
    throw new AccessTokenError('expired');
  if (typeof payload.nbf === 'number' && payload.nbf - LEEWAY_SECONDS > seconds)
    throw new AccessTokenError('not yet valid');
  if (typeof payload.sub !== 'string') throw new AccessTokenError('no subject');

  const email =
    typeof payload.email === 'string' && payload.email !== '' ? payload.email.toLowerCase() : null;
  const commonName =
    typeof payload.common_name === 'string' && payload.common_name !== '' ? payload.common_name : null;
  if (!email && !commonName) throw new AccessTokenError('neither email nor common_name');
  return { sub: payload.sub, email, commonName };
}

interface KeySet {
  keys: Map<string, CryptoKey>;
  fetchedAt: number;
}

const keySets = new Map<string, KeySet>();
const inFlight = new Map<string, Promise<KeySet>>();
/** Per certs URL: no fetch before `until`; `delayMs` is the wait that was set, doubled next time. */
const backoffs = new Map<string, { until: number; delayMs: number }>();

async function signingKey(certsUrl: string, kid: string): Promise<CryptoKey | null> {
  let set = keySets.get(certsUrl);
  const now = Date.now();
  const stale = !set || now - set.fetchedAt > KEYS_MAX_AGE_MS;
  const unknownKid = set !== undefined && !set.keys.has(kid) && now - set.fetchedAt > REFETCH_MIN_INTERVAL_MS;
  if (stale || unknownKid) {
    const backoff = backoffs.get(certsUrl);
    if (backoff && now < backoff.until) {
      if (!set) {
        throw new AccessKeysUnavailableError(
          `the Cloudflare Access keys could not be fetched from ${certsUrl}; next try in ${Math.ceil((backoff.until - now) / 1000)} s`,
        );
      }
    } else {
      try {
        set = await fetchKeySet(certsUrl);
        backoffs.delete(certsUrl);
      } catch (error) {
        const delayMs = backoff ? Math.min(backoff.delayMs * 2, BACKOFF_MAX_MS) : BACKOFF_FIRST_MS;
        backoffs.set(certsUrl, { until: Date.now() + delayMs, delayMs });
        // A stale key set is better than none while the certs endpoint hiccups.
        if (!set) throw error;
      }
    }
  }
  return set?.keys.get(kid) ?? null;
}

function fetchKeySet(certsUrl: string): Promise<KeySet> {
  let pending = inFlight.get(certsUrl);
  if (!pending) {
    pending = loadKeySet(certsUrl).finally(() => inFlight.delete(certsUrl));
    inFlight.set(certsUrl, pending);
  }
  return pending;
}

interface Jwk {
  kid?: unknown;
  kty?: unknown;
  n?: unknown;
  e?: unknown;
}

async function loadKeySet(certsUrl: string): Promise<KeySet> {
  let body: { keys?: unknown };
  try {
    const response = await fetch(certsUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json<{ keys?: unknown }>();
  } catch (error) {
    throw new AccessKeysUnavailableError(
      `cannot fetch the Cloudflare Access keys from ${certsUrl}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const keys = new Map<string, CryptoKey>();
  for (const jwk of Array.isArray(body.keys) ? (body.keys as Jwk[]) : []) {
    if (
      typeof jwk.kid !== 'string' ||
      jwk.kty !== 'RSA' ||
      typeof jwk.n !== 'string' ||
      typeof jwk.e !== 'string'
    )
      continue;
    try {
      const key = await crypto.subtle.importKey(
        'jwk',
        { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true },
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        false,
        ['verify'],
      );
      keys.set(jwk.kid, key);
    } catch {
      // One unusable key must not take the others down with it.
    }
  }
  const set = { keys, fetchedAt: Date.now() };
  keySets.set(certsUrl, set);
  return set;
}
