import { describe, expect, it } from 'vitest';
import {
  adminHeaders,
  bearer,
  call,
  createToken,
  createUser,
  errorOf,
  login,
  ORIGIN,
  unique,
} from './support/api';

/** A token made by a user through a browser session, as the dashboard would. */
async function tokenMadeBy(cookie: string, role: 'viewer' | 'operator' | 'admin'): Promise<string> {
  const response = await call('/api/tokens', {
    method: 'POST',
    headers: { cookie, origin: ORIGIN },
    json: { name: unique('made-by-user'), role },
  });
  expect(response.status).toBe(201);
  return (await response.json<{ token: string }>()).token;
}

async function roleOf(token: string): Promise<string | number> {
  const response = await call('/api/auth/me', { headers: bearer(token) });
  if (response.status !== 200) return response.status;
  return (await response.json<{ actor: { role: string } }>()).actor.role;
}

async function patchUser(id: string, json: Record<string, unknown>): Promise<void> {
  const response = await call(`/api/users/${id}`, { method: 'PATCH', headers: adminHeaders(), json });
  expect(response.status).toBe(200);
}

describe('a token and the one who made it', () => {
  it('is refused once its creator is disabled, and works again when re-enabled', async () => {
    const admin = await createUser('admin');
    const token = await tokenMadeBy(await login(admin.email, admin.password), 'operator');
    expect(await roleOf(token)).toBe('operator');
    await patchUser(admin.id, { disabled: true });
    expect(await roleOf(token)).toBe(401);
    await patchUser(admin.id, { disabled: false });
    expect(await roleOf(token)).toBe('operator');
  });

  it('is refused once its creator is deleted', async () => {
    const admin = await createUser('admin');
    const token = await tokenMadeBy(await login(admin.email, admin.password), 'admin');
    expect(await roleOf(token)).toBe('admin');
    const deleted = await call(`/api/users/${admin.id}`, { method: 'DELETE', headers: adminHeaders() });
    expect(deleted.status).toBe(204);
    expect(await roleOf(token)).toBe(401);
  });

  it('is capped at the role its creator has now', async () => {
    const admin = await createUser('admin');
    const cookie = await login(admin.email, admin.password);
    const [adminToken, viewerToken] = [
      await tokenMadeBy(cookie, 'admin'),
      await tokenMadeBy(cookie, 'viewer'),
    ];
    await patchUser(admin.id, { role: 'operator' });
    expect(await roleOf(adminToken)).toBe('operator');
    expect(await roleOf(viewerToken)).toBe('viewer');
    // The capped token cannot do what only an admin may.
    const users = await call('/api/users', { headers: bearer(adminToken) });
    expect(users.status).toBe(403);
    await patchUser(admin.id, { role: 'viewer' });
    expect(await roleOf(adminToken)).toBe('viewer');
  });

  it('made by a token, dies with that token', async () => {
    const parent = await createToken('admin');
    const made = await call('/api/tokens', {
      method: 'POST',
      headers: bearer(parent.token),
      json: { name: unique('child'), role: 'operator' },
    });
    expect(made.status).toBe(201);
    const child = (await made.json<{ token: string }>()).token;
    expect(await roleOf(child)).toBe('operator');
    const revoked = await call(`/api/tokens/${parent.id}`, { method: 'DELETE', headers: adminHeaders() });
    expect(revoked.status).toBe(200);
    expect(await roleOf(child)).toBe(401);
  });
});

describe('token settings', () => {
  it('gives tokens without an expiry WATCHTOWER_TOKEN_DEFAULT_DAYS days', async () => {
    const before = Date.now();
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name: unique('default-expiry'), role: 'viewer' },
      env: { WATCHTOWER_TOKEN_DEFAULT_DAYS: '3' },
    });
    expect(response.status).toBe(201);
    const { expiresAt } = await response.json<{ expiresAt: string | null }>();
    const days = (Date.parse(expiresAt ?? '') - before) / 86_400_000;
    expect(days).toBeGreaterThan(2.99);
    expect(days).toBeLessThan(3.01);

    const explicit = new Date(Date.now() + 3_600_000).toISOString();
    const chosen = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name: unique('explicit-expiry'), role: 'viewer', expiresAt: explicit },
      env: { WATCHTOWER_TOKEN_DEFAULT_DAYS: '3' },
    });
    expect((await chosen.json<{ expiresAt: string }>()).expiresAt).toBe(explicit);

    const bad = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name: unique('bad-setting'), role: 'viewer' },
      env: { WATCHTOWER_TOKEN_DEFAULT_DAYS: 'soon' },
    });
    expect(bad.status).toBe(500);
    expect((await errorOf(bad)).message).toContain('WATCHTOWER_TOKEN_DEFAULT_DAYS');
  });

  it('lists when each token was last used', async () => {
    const token = await createToken('viewer');
    expect(await roleOf(token.token)).toBe('viewer');
    const response = await call(`/api/tokens?limit=100`, { headers: adminHeaders() });
    const { tokens } = await response.json<{ tokens: { id: string; lastUsedAt: string | null }[] }>();
    const listed = tokens.find((row) => row.id === token.id);
    expect(listed?.lastUsedAt).not.toBeNull();
  });

  it('refuses to run with a bootstrap admin token shorter than 32 characters', async () => {
    const short = 'wt_short_admin_token_0123456789'; // 31 characters
    for (const headers of [bearer(short), adminHeaders()]) {
      const response = await call('/api/auth/me', { headers, env: { WATCHTOWER_ADMIN_TOKEN: short } });
      expect(response.status).toBe(500);
      const error = await errorOf(response);
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('at least 32');
    }
    const long = `${short}x`;
    const accepted = await call('/api/auth/me', {
      headers: bearer(long),
      env: { WATCHTOWER_ADMIN_TOKEN: long },
    });
    expect(accepted.status).toBe(200);
  });
});
