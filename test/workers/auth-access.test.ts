import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Env } from '../../functions/env';
import { adminHeaders, call, createUser, errorOf, ORIGIN, unique, uniqueEmail } from './support/api';

/**
 * Cloudflare Access JWTs, signed here with RSA keys generated in the test and verified by the
 * Worker against the public keys it fetches from the local certs stand-in (test/setup/jwks-stand-in.ts).
 */

const ISSUER = `https://${env.WATCHTOWER_ACCESS_TEAM_DOMAIN}`;
const AUDIENCE = env.WATCHTOWER_ACCESS_AUD ?? '';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

async function generateKey(): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return { kid: unique('kid'), privateKey: pair.privateKey, publicJwk };
}

/** Publishes the keys under a fresh name; returns the bindings pointing the Worker at them. */
async function publish(
  keys: SigningKey[],
  name = unique('certs'),
): Promise<{ bindings: Partial<Env>; name: string }> {
  const jwks = { keys: keys.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: 'RS256', use: 'sig' })) };
  const response = await fetch(`${env.WATCHTOWER_TEST_JWKS_URL}/jwks/${name}`, {
    method: 'PUT',
    body: JSON.stringify(jwks),
  });
  expect(response.status).toBe(204);
  return { bindings: { WATCHTOWER_ACCESS_CERTS_URL: `${env.WATCHTOWER_TEST_JWKS_URL}/jwks/${name}` }, name };
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

function encodeJson(value: unknown): string {
  return base64Url(new TextEncoder().encode(JSON.stringify(value)));
}

async function sign(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const head = encodeJson({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header });
  const body = encodeJson({
    iss: ISSUER,
    aud: [AUDIENCE],
    iat: now,
    nbf: now,
    exp: now + 600,
    sub: crypto.randomUUID(),
    type: 'app',
    ...claims,
  });
  const signature = await crypto.subtle.sign(
    'RSASSA-PKCS1-v1_5',
    key.privateKey,
    new TextEncoder().encode(`${head}.${body}`),
  );
  return `${head}.${body}.${base64Url(new Uint8Array(signature))}`;
}

function withAccess(
  jwt: string,
  bindings: Partial<Env>,
  init: { method?: string; headers?: Record<string, string>; json?: unknown } = {},
) {
  return (path: string) =>
    call(path, { ...init, headers: { 'cf-access-jwt-assertion': jwt, ...init.headers }, env: bindings });
}

let key: SigningKey;
let bindings: Partial<Env>;

beforeAll(async () => {
  key = await generateKey();
  ({ bindings } = await publish([key]));
});

describe('Cloudflare Access JWTs', () => {
  it('are accepted for an identity without a user, with the default role (viewer)', async () => {
    const email = uniqueEmail('access');
    const sub = crypto.randomUUID();
    const response = await withAccess(await sign(key, { email, sub }), bindings)('/api/auth/me');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      actor: { kind: 'access', id: `access:${sub}`, name: email, role: 'viewer' },
      user: null,
    });
  });

  it('take the role of the user with the same email (case-insensitive)', async () => {
    const user = await createUser('operator');
    const jwt = await sign(key, { email: user.email.toUpperCase() });
    const response = await withAccess(jwt, bindings)('/api/auth/me');
    expect(await response.json()).toMatchObject({
      actor: { kind: 'access', id: user.id, name: user.email, role: 'operator' },
      user: { id: user.id },
    });
  });

  it('use WATCHTOWER_ACCESS_ROLE as the default role when set', async () => {
    const jwt = await sign(key, { email: uniqueEmail('access') });
    const response = await withAccess(jwt, { ...bindings, WATCHTOWER_ACCESS_ROLE: 'operator' })(
      '/api/auth/me',
    );
    expect(await response.json()).toMatchObject({ actor: { role: 'operator' } });
    const wrong = await withAccess(jwt, { ...bindings, WATCHTOWER_ACCESS_ROLE: 'root' })('/api/auth/me');
    expect(wrong.status).toBe(500);
    expect(await errorOf(wrong)).toMatchObject({
      code: 'misconfigured',
      message: expect.stringContaining('WATCHTOWER_ACCESS_ROLE'),
    });
  });

  it('are refused for a disabled user', async () => {
    const user = await createUser('admin');
    await call(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { disabled: true },
    });
    const response = await withAccess(await sign(key, { email: user.email }), bindings)('/api/auth/me');
    expect(response.status).toBe(401);
  });

  it('are refused when forged, for another application, expired, or otherwise wrong', async () => {
    const other = await generateKey();
    const now = Math.floor(Date.now() / 1000);
    const email = uniqueEmail('access');
    const good = await sign(key, { email });
    const [goodHead, goodBody] = good.split('.');
    const cases: [string, Promise<string> | string, string][] = [
      // Same kid, another private key: what a forger without Cloudflare's key can make.
      ['bad signature', sign({ ...other, kid: key.kid }, { email }), 'bad signature'],
      [
        'payload changed after signing',
        `${goodHead}.${encodeJson({ iss: ISSUER, aud: [AUDIENCE], exp: now + 600, sub: 'x', email: 'admin@example.test' })}.${good.split('.')[2]}`,
        'bad signature',
      ],
      ['wrong audience', sign(key, { email, aud: ['another-application'] }), 'wrong audience'],
      ['wrong issuer', sign(key, { email, iss: 'https://evil.cloudflareaccess.com' }), 'wrong issuer'],
      ['expired', sign(key, { email, exp: now - 120, iat: now - 720, nbf: now - 720 }), 'expired'],
      ['no expiry', sign(key, { email, exp: undefined }), 'expired'],
      ['not yet valid', sign(key, { email, nbf: now + 600 }), 'not yet valid'],
      ['unknown key id', sign(key, { email }, { kid: 'not-a-published-kid' }), 'unknown signing key'],
      ['alg none', `${encodeJson({ alg: 'none', kid: key.kid })}.${goodBody}.`, 'unexpected algorithm'],
      [
        'alg HS256',
        `${encodeJson({ alg: 'HS256', kid: key.kid })}.${goodBody}.${good.split('.')[2]}`,
        'unexpected algorithm',
      ],
      ['no email nor common_name', sign(key, { email: undefined }), 'neither email nor common_name'],
      ['not a JWT', 'garbage', 'not a JWT'],
      ['malformed segments', 'a.b.c', 'malformed JWT'],
    ];
    for (const [label, jwt, reason] of cases) {
      const response = await withAccess(await jwt, bindings)('/api/auth/me');
      expect(response.status, label).toBe(401);
      expect(await errorOf(response), label).toEqual({
        code: 'unauthorized',
        message: `Cloudflare Access token refused: ${reason}`,
      });
    }
  });

  it('are verified with keys fetched once and cached', async () => {
    const cached = await publish([key]);
    for (let i = 0; i < 5; i++) {
      const response = await withAccess(
        await sign(key, { email: uniqueEmail('cache') }),
        cached.bindings,
      )('/api/auth/me');
      expect(response.status).toBe(200);
    }
    const hits = await (await fetch(`${env.WATCHTOWER_TEST_JWKS_URL}/hits/${cached.name}`)).json<{
      hits: number;
    }>();
    expect(hits.hits).toBe(1);
  });

  it('give a service token WATCHTOWER_ACCESS_SERVICE_ROLE (default viewer), not the role for people', async () => {
    const jwt = await sign(key, { email: undefined, common_name: 'ci.roles', sub: '' });
    const me = async (extra: Partial<Env>) => {
      const response = await withAccess(jwt, { ...bindings, ...extra })('/api/auth/me');
      return response.status === 200
        ? (await response.json<{ actor: { role: string } }>()).actor.role
        : (await errorOf(response)).message;
    };
    expect(await me({})).toBe('viewer');
    expect(await me({ WATCHTOWER_ACCESS_ROLE: 'admin' })).toBe('viewer');
    expect(await me({ WATCHTOWER_ACCESS_SERVICE_ROLE: 'operator' })).toBe('operator');
    expect(await me({ WATCHTOWER_ACCESS_SERVICE_ROLE: 'root' })).toContain('WATCHTOWER_ACCESS_SERVICE_ROLE');
  });

  it('do not refetch keys that could not be fetched on every request (back off)', async () => {
    const name = unique('down');
    const down = { ...bindings, WATCHTOWER_ACCESS_CERTS_URL: `${env.WATCHTOWER_TEST_JWKS_URL}/jwks/${name}` };
    for (let attempt = 1; attempt <= 5; attempt++) {
      const response = await withAccess(
        await sign(key, { email: uniqueEmail('down') }),
        down,
      )('/api/auth/me');
      expect(response.status, `attempt ${attempt}`).toBe(503);
    }
    const hits = await (await fetch(`${env.WATCHTOWER_TEST_JWKS_URL}/hits/${name}`)).json<{ hits: number }>();
    expect(hits.hits).toBe(1);
  });

  it('answer 503 when the signing keys cannot be fetched', async () => {
    const response = await withAccess(await sign(key, { email: uniqueEmail('down') }), {
      WATCHTOWER_ACCESS_CERTS_URL: `${env.WATCHTOWER_TEST_JWKS_URL}/jwks/${unique('never-published')}`,
    })('/api/auth/me');
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe('unavailable');
  });

  it('are ignored when Access is not configured', async () => {
    const jwt = await sign(key, { email: uniqueEmail('off') });
    const response = await withAccess(jwt, { ...bindings, WATCHTOWER_ACCESS_AUD: '' })('/api/auth/me');
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toContain('Authentication required');
  });

  it('refuse cross-site writes for a person (the browser sends the Access cookie by itself)', async () => {
    const user = await createUser('admin');
    const jwt = await sign(key, { email: user.email });
    const json = { name: unique('access-token'), role: 'viewer' };
    const crossSite = await withAccess(jwt, bindings, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      json,
    })('/api/tokens');
    expect(crossSite.status).toBe(403);
    const sameOrigin = await withAccess(jwt, bindings, { method: 'POST', headers: { origin: ORIGIN }, json })(
      '/api/tokens',
    );
    expect(sameOrigin.status).toBe(201);
  });

  it('accept a service token (common_name, no email) for automation without an Origin', async () => {
    const jwt = await sign(key, { email: undefined, common_name: 'ci.access', sub: '' });
    const response = await withAccess(
      jwt,
      { ...bindings, WATCHTOWER_ACCESS_SERVICE_ROLE: 'admin' },
      {
        method: 'POST',
        json: { name: unique('from-service-token'), role: 'viewer' },
      },
    )('/api/tokens');
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      createdBy: 'access:access-service:ci.access',
      createdByName: 'ci.access',
    });
    // A token it makes is capped by the role service tokens have now.
    const operatorToken = await withAccess(
      jwt,
      { ...bindings, WATCHTOWER_ACCESS_SERVICE_ROLE: 'admin' },
      { method: 'POST', json: { name: unique('from-service-token'), role: 'operator' } },
    )('/api/tokens');
    const made = await operatorToken.json<{ token: string }>();
    const roleOf = async (serviceRole: string) => {
      const me = await call('/api/auth/me', {
        headers: { authorization: `Bearer ${made.token}` },
        env: { ...bindings, WATCHTOWER_ACCESS_SERVICE_ROLE: serviceRole, WATCHTOWER_ACCESS_ROLE: 'admin' },
      });
      return (await me.json<{ actor: { role: string } }>()).actor.role;
    };
    expect(await roleOf('admin')).toBe('operator');
    expect(await roleOf('viewer')).toBe('viewer');
  });
});
