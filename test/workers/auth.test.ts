import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { apiTokens } from '../../drizzle/schema';
import {
  adminHeaders,
  adminToken,
  bearer,
  type CreatedToken,
  call,
  createToken,
  errorOf,
  unique,
  uniqueEmail,
} from './support/api';
import { openTestDatabase } from './support/database';

let database: NeonDatabaseHandle;
let viewer: CreatedToken;
let operator: CreatedToken;
let admin: CreatedToken;

beforeAll(async () => {
  database = openTestDatabase();
  [viewer, operator, admin] = await Promise.all([
    createToken('viewer'),
    createToken('operator'),
    createToken('admin'),
  ]);
});

afterAll(async () => {
  await database.close();
});

describe('authentication', () => {
  it('answers /api/health without credentials and nothing else', async () => {
    expect((await call('/api/health')).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/auth/me'],
      ['POST', '/api/auth/logout'],
      ['GET', '/api/users'],
      ['POST', '/api/users'],
      ['GET', '/api/tokens'],
      ['DELETE', `/api/tokens/${crypto.randomUUID()}`],
      ['GET', '/api/audit'],
      ['GET', '/api/openapi.json'],
      ['GET', '/api/no-such-route'],
    ] as const) {
      const response = await call(path, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="watchtower"');
      expect(await errorOf(response)).toMatchObject({ code: 'unauthorized' });
    }
  });

  it('refuses credentials that are present but wrong, without falling back to others', async () => {
    for (const authorization of [
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer ',
      `Bearer ${adminToken}x`,
      `Bearer ${adminToken.slice(0, -1)}`,
      'Bearer wt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      `Token ${adminToken}`,
    ]) {
      const response = await call('/api/auth/me', { headers: { authorization } });
      expect(response.status, authorization).toBe(401);
      expect((await errorOf(response)).code).toBe('unauthorized');
    }
  });

  it('accepts the bootstrap WATCHTOWER_ADMIN_TOKEN as an admin', async () => {
    const response = await call('/api/auth/me', { headers: adminHeaders() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      actor: { kind: 'bootstrap', id: 'bootstrap', name: 'WATCHTOWER_ADMIN_TOKEN', role: 'admin' },
      user: null,
    });
  });

  it('does not accept an empty bootstrap token when the secret is unset', async () => {
    const response = await call('/api/auth/me', {
      headers: { authorization: 'Bearer ' },
      env: { WATCHTOWER_ADMIN_TOKEN: '' },
    });
    expect(response.status).toBe(401);
    const unset = await call('/api/auth/me', {
      headers: adminHeaders(),
      env: { WATCHTOWER_ADMIN_TOKEN: undefined },
    });
    expect(unset.status).toBe(401);
  });

  it('accepts the scheme case-insensitively, as RFC 7235 says', async () => {
    const response = await call('/api/auth/me', { headers: { authorization: `bearer ${viewer.token}` } });
    expect(response.status).toBe(200);
  });
});

describe('API tokens', () => {
  it('are shown once, stored only as a SHA-256 hash, and work as the role they were given', async () => {
    const name = unique('deploy');
    const created = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name, role: 'operator' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const body = await created.json<{
      id: string;
      token: string;
      prefix: string;
      status: string;
      role: string;
    }>();
    expect(body.token).toMatch(/^wt_[A-Za-z0-9_-]{43}$/);
    expect(body).toMatchObject({ role: 'operator', status: 'active', prefix: body.token.slice(0, 10) });

    const [row] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, body.id));
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body.token)),
    );
    expect(row?.tokenHash).toBe([...digest].map((byte) => byte.toString(16).padStart(2, '0')).join(''));
    expect(JSON.stringify(row)).not.toContain(body.token);

    const me = await call('/api/auth/me', { headers: bearer(body.token) });
    expect(await me.json()).toMatchObject({ actor: { kind: 'token', id: body.id, name, role: 'operator' } });

    // Never again: not in the list, not in the detail.
    const one = await call(`/api/tokens/${body.id}`, { headers: adminHeaders() });
    const listed = await call('/api/tokens?limit=500', { headers: adminHeaders() });
    expect(await one.text()).not.toContain(body.token);
    expect(await listed.text()).not.toContain(body.token.slice(3));
  });

  it('records when a token was last used', async () => {
    const token = await createToken('viewer');
    const [before] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, token.id));
    expect(before?.lastUsedAt).toBeNull();
    await call('/api/auth/me', { headers: bearer(token.token) });
    const [after] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, token.id));
    expect(after?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('are refused once revoked, on the very next request', async () => {
    const token = await createToken('operator');
    expect((await call('/api/auth/me', { headers: bearer(token.token) })).status).toBe(200);
    const revoked = await call(`/api/tokens/${token.id}`, { method: 'DELETE', headers: adminHeaders() });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({
      id: token.id,
      status: 'revoked',
      revokedAt: expect.any(String),
    });
    const refused = await call('/api/auth/me', { headers: bearer(token.token) });
    expect(refused.status).toBe(401);
    expect(await errorOf(refused)).toMatchObject({
      code: 'unauthorized',
      message: 'The API token is invalid, revoked or expired',
    });
  });

  it('are refused once expired', async () => {
    const token = await createToken('viewer', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await call('/api/auth/me', { headers: bearer(token.token) })).status).toBe(200);
    // Move the expiry into the past rather than waiting for it.
    await database.db
      .update(apiTokens)
      .set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(apiTokens.id, token.id));
    expect((await call('/api/auth/me', { headers: bearer(token.token) })).status).toBe(401);
    const shown = await call(`/api/tokens/${token.id}`, { headers: adminHeaders() });
    expect(await shown.json()).toMatchObject({ status: 'expired' });
  });

  it('cannot be created already expired', async () => {
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name: unique('past'), role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      code: 'bad_request',
      details: [
        expect.objectContaining({ location: 'json', path: ['expiresAt'], message: 'must be in the future' }),
      ],
    });
  });

  it('list newest first without secrets, page by cursor, and hide revoked ones unless asked', async () => {
    const first = await createToken('viewer');
    const second = await createToken('viewer');
    await call(`/api/tokens/${first.id}`, { method: 'DELETE', headers: adminHeaders() });

    const active = await (await call('/api/tokens?limit=500', { headers: adminHeaders() })).json<{
      tokens: { id: string }[];
    }>();
    expect(active.tokens.map((token) => token.id)).toContain(second.id);
    expect(active.tokens.map((token) => token.id)).not.toContain(first.id);
    for (const token of active.tokens) expect(Object.keys(token)).not.toContain('token');

    const ids: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const query: string = `?includeRevoked=true&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const body = await (await call(`/api/tokens${query}`, { headers: adminHeaders() })).json<{
        tokens: { id: string }[];
        nextCursor: string | null;
      }>();
      expect(body.tokens.length).toBeLessThanOrEqual(2);
      ids.push(...body.tokens.map((token) => token.id));
      if (ids.includes(first.id) && ids.includes(second.id)) break;
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(ids).toContain(first.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers 404 for an unknown token id and 400 for a malformed one', async () => {
    const unknown = await call(`/api/tokens/${crypto.randomUUID()}`, {
      method: 'DELETE',
      headers: adminHeaders(),
    });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not_found');
    const malformed = await call('/api/tokens/not-a-uuid', { headers: adminHeaders() });
    expect(malformed.status).toBe(400);
  });
});

describe('roles', () => {
  const userBody = () => ({ email: uniqueEmail('role'), role: 'viewer', password: 'a long enough password' });
  const tokenBody = () => ({ name: unique('role'), role: 'viewer' });

  // [who, method, path, body, expected status]
  const cases: [string, string, string, (() => unknown) | undefined, number][] = [
    ['viewer', 'GET', '/api/auth/me', undefined, 200],
    ['viewer', 'GET', '/api/audit', undefined, 200],
    ['viewer', 'GET', '/api/openapi.json', undefined, 200],
    ['viewer', 'GET', '/api/users', undefined, 403],
    ['viewer', 'POST', '/api/users', userBody, 403],
    ['viewer', 'GET', '/api/tokens', undefined, 403],
    ['viewer', 'POST', '/api/tokens', tokenBody, 403],
    ['operator', 'GET', '/api/audit', undefined, 200],
    ['operator', 'GET', '/api/users', undefined, 403],
    ['operator', 'POST', '/api/users', userBody, 403],
    ['operator', 'POST', '/api/tokens', tokenBody, 403],
    ['operator', 'DELETE', `/api/users/${crypto.randomUUID()}`, undefined, 403],
    ['admin', 'GET', '/api/users', undefined, 200],
    ['admin', 'POST', '/api/users', userBody, 201],
    ['admin', 'POST', '/api/tokens', tokenBody, 201],
    ['admin', 'DELETE', `/api/users/${crypto.randomUUID()}`, undefined, 404],
  ];

  it.each(cases)('%s: %s %s answers %i', async (who, method, path, body, status) => {
    const token = who === 'viewer' ? viewer : who === 'operator' ? operator : admin;
    const response = await call(path, {
      method,
      headers: bearer(token.token),
      ...(body !== undefined && { json: body() }),
    });
    expect(response.status).toBe(status);
    if (status === 403) {
      const error = await errorOf(response);
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain('admin role');
    }
  });

  it('checks the role before the input, so a viewer learns nothing about a write route', async () => {
    const response = await call('/api/users', {
      method: 'POST',
      headers: bearer(viewer.token),
      json: { nonsense: true },
    });
    expect(response.status).toBe(403);
  });
});
