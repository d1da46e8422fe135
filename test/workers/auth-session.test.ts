import { env } from 'cloudflare:workers';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog, sessions, users } from '../../drizzle/schema';
import {
  adminHeaders,
  call,
  createUser,
  errorOf,
  login,
  ORIGIN,
  randomIp,
  sessionCookieOf,
  uniqueEmail,
} from './support/api';
import { openTestDatabase } from './support/database';

let database: NeonDatabaseHandle;

beforeAll(() => {
  database = openTestDatabase();
});

afterAll(async () => {
  await database.close();
});

function loginRequest(email: string, password: string, headers: Record<string, string> = {}) {
  return call('/api/auth/login', {
    method: 'POST',
    headers: { 'cf-connecting-ip': randomIp(), origin: ORIGIN, ...headers },
    json: { email, password },
  });
}

describe('browser sessions', () => {
  it('log in with email and password and set a HttpOnly, Secure, SameSite=Strict cookie', async () => {
    const user = await createUser('operator');
    const response = await loginRequest(user.email.toUpperCase(), user.password, {
      'user-agent': 'session-test',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^wt_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('Max-Age=43200');
    const body = await response.json<{ user: { id: string; role: string }; expiresAt: string }>();
    expect(body.user).toMatchObject({ id: user.id, email: user.email, role: 'operator' });
    expect(body).not.toHaveProperty('user.passwordHash');

    const me = await call('/api/auth/me', { headers: { cookie: sessionCookieOf(response) } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      actor: { kind: 'session', id: user.id, name: user.email, role: 'operator' },
      user: { id: user.id, lastLoginAt: expect.any(String) },
    });

    // The database holds a hash of the cookie, never the cookie.
    const secret = sessionCookieOf(response).slice('wt_session='.length);
    const rows = await database.db.select().from(sessions).where(eq(sessions.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]?.id).not.toBe(secret);
    expect(rows[0]?.userAgent).toBe('session-test');
  });

  it('stores passwords as PBKDF2-SHA256 with a per-user salt and 100,000 iterations', async () => {
    const a = await createUser('viewer', { password: 'the very same password' });
    const b = await createUser('viewer', { password: 'the very same password' });
    const rows = await database.db
      .select({ id: users.id, hash: users.passwordHash })
      .from(users)
      .where(sql`${users.id} in (${a.id}, ${b.id})`);
    for (const row of rows)
      expect(row.hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(rows[0]?.hash).not.toBe(rows[1]?.hash);
  });

  it('refuse a wrong password, an unknown email and a disabled user alike, and audit the reason', async () => {
    const user = await createUser('viewer');
    const disabled = await createUser('viewer');
    await call(`/api/users/${disabled.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { disabled: true },
    });
    const attempts: [string, string, string][] = [
      [user.email, 'not the password', 'wrong password'],
      [uniqueEmail('nobody'), 'whatever password', 'unknown email'],
      [disabled.email, disabled.password, 'user disabled'],
    ];
    for (const [email, password, reason] of attempts) {
      const response = await loginRequest(email, password);
      expect(response.status).toBe(401);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(await errorOf(response)).toEqual({ code: 'unauthorized', message: 'Wrong email or password' });
      const [entry] = await database.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.action, 'auth.login'), sql`${auditLog.details}->>'email' = ${email}`));
      expect(entry).toMatchObject({ actorKind: 'anonymous', result: 'error', details: { email, reason } });
    }
  });

  it('rate limit failed logins per ip and email: 429 with Retry-After after 10 failures', async () => {
    const user = await createUser('viewer');
    const ip = randomIp();
    for (let attempt = 1; attempt <= 10; attempt++) {
      const response = await loginRequest(user.email, 'wrong password!', { 'cf-connecting-ip': ip });
      expect(response.status, `attempt ${attempt}`).toBe(401);
    }
    const limited = await loginRequest(user.email, user.password, { 'cf-connecting-ip': ip });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(await errorOf(limited)).toMatchObject({
      code: 'too_many_requests',
      details: { retryAfterSeconds: retryAfter },
    });

    // Another address (another person behind another network) can still log in.
    expect((await loginRequest(user.email, user.password)).status).toBe(200);
  });

  it("forget an account's failures after a successful login", async () => {
    const user = await createUser('viewer');
    const ip = randomIp();
    for (let attempt = 1; attempt <= 9; attempt++) {
      expect((await loginRequest(user.email, 'wrong password!', { 'cf-connecting-ip': ip })).status).toBe(
        401,
      );
    }
    expect((await loginRequest(user.email, user.password, { 'cf-connecting-ip': ip })).status).toBe(200);
    for (let attempt = 1; attempt <= 9; attempt++) {
      expect((await loginRequest(user.email, 'wrong password!', { 'cf-connecting-ip': ip })).status).toBe(
        401,
      );
    }
    expect((await loginRequest(user.email, user.password, { 'cf-connecting-ip': ip })).status).toBe(200);
  });

  it('refuse a login posted from another site (login CSRF)', async () => {
    const user = await createUser('viewer');
    const response = await loginRequest(user.email, user.password, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    const fetchSite = await call('/api/auth/login', {
      method: 'POST',
      headers: { 'cf-connecting-ip': randomIp(), 'sec-fetch-site': 'cross-site' },
      json: { email: user.email, password: user.password },
    });
    expect(fetchSite.status).toBe(403);
  });

  it('end at logout: the cookie is cleared and no longer works', async () => {
    const user = await createUser('viewer');
    const cookie = await login(user.email, user.password);
    const logout = await call('/api/auth/logout', { method: 'POST', headers: { cookie, origin: ORIGIN } });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^wt_session=;.*Max-Age=0/);
    const me = await call('/api/auth/me', { headers: { cookie } });
    expect(me.status).toBe(401);
    expect(await errorOf(me)).toMatchObject({ code: 'unauthorized' });
  });

  it('take a role change or a disabled account into account at once', async () => {
    const user = await createUser('viewer');
    const cookie = await login(user.email, user.password);
    await call(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { role: 'admin' },
    });
    expect(await (await call('/api/auth/me', { headers: { cookie } })).json()).toMatchObject({
      actor: { role: 'admin' },
    });
    await call(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { disabled: true },
    });
    expect((await call('/api/auth/me', { headers: { cookie } })).status).toBe(401);
  });

  it('refuse garbage and expired cookies', async () => {
    for (const cookie of [
      'wt_session=',
      'wt_session=abc',
      `wt_session=${'A'.repeat(43)}`,
      'wt_session=%00%00',
    ]) {
      expect((await call('/api/auth/me', { headers: { cookie } })).status, cookie).toBe(401);
    }
    const user = await createUser('viewer');
    const cookie = await login(user.email, user.password);
    await database.db
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(sessions.userId, user.id));
    expect((await call('/api/auth/me', { headers: { cookie } })).status).toBe(401);
  });
});

describe('cross-site writes with a cookie', () => {
  async function adminCookie(): Promise<string> {
    const user = await createUser('admin');
    return login(user.email, user.password);
  }
  const tokenBody = () => ({ name: `csrf-${crypto.randomUUID().slice(0, 8)}`, role: 'admin' });

  it('are refused when the Origin is another site, and change nothing', async () => {
    const cookie = await adminCookie();
    const body = tokenBody();
    for (const origin of [
      'https://evil.example',
      'null',
      'http://watchtower.test.evil.example',
      'https://watchtower.test',
    ]) {
      const response = await call('/api/tokens', { method: 'POST', headers: { cookie, origin }, json: body });
      expect(response.status, origin).toBe(403);
      expect(await errorOf(response)).toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('Cross-site'),
      });
    }
    const listed = await call('/api/tokens?limit=500', { headers: adminHeaders() });
    expect(await listed.text()).not.toContain(body.name);
  });

  it('are refused without an Origin unless Sec-Fetch-Site says same-origin', async () => {
    const cookie = await adminCookie();
    const none = await call('/api/tokens', { method: 'POST', headers: { cookie }, json: tokenBody() });
    expect(none.status).toBe(403);
    const crossSite = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
      json: tokenBody(),
    });
    expect(crossSite.status).toBe(403);
    const sameSite = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'same-site' },
      json: tokenBody(),
    });
    expect(sameSite.status).toBe(403);
    const sameOrigin = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'same-origin' },
      json: tokenBody(),
    });
    expect(sameOrigin.status).toBe(201);
  });

  it('are allowed from the same origin; reads need no Origin at all', async () => {
    const cookie = await adminCookie();
    const write = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      json: tokenBody(),
    });
    expect(write.status).toBe(201);
    const read = await call('/api/tokens', { headers: { cookie } });
    expect(read.status).toBe(200);
  });

  it('do not concern API tokens, which a browser never sends by itself', async () => {
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), origin: 'https://evil.example' },
      json: tokenBody(),
    });
    expect(response.status).toBe(201);
  });
});

describe('the first admin from WATCHTOWER_ADMIN_EMAIL and WATCHTOWER_ADMIN_PASSWORD', () => {
  // "While no user exists" cannot be arranged in the shared database, so this runs against a
  // private schema holding empty copies of the security tables (the search_path picks them).
  const schema = `wt_bootstrap_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;

  beforeAll(async () => {
    await database.db.execute(sql.raw(`create schema ${schema}`));
    for (const table of [
      'watchtower_users',
      'watchtower_sessions',
      'watchtower_audit_log',
      'watchtower_login_attempts',
    ]) {
      await database.db.execute(
        sql.raw(`create table ${schema}.${table} (like public.${table} including all)`),
      );
    }
  });

  afterAll(async () => {
    await database.db.execute(sql.raw(`drop schema if exists ${schema} cascade`));
  });

  it('is created on the first login while no user exists, and only then', async () => {
    const email = uniqueEmail('first-admin');
    const password = 'first admin password';
    const base = new URL(env.DATABASE_URL ?? '');
    base.searchParams.set('options', `-c search_path=${schema}`);
    const bindings = {
      DATABASE_URL: base.toString(),
      WATCHTOWER_ADMIN_EMAIL: email.toUpperCase(),
      WATCHTOWER_ADMIN_PASSWORD: password,
    };
    const attempt = (as: string, with_: string, overrides: Partial<typeof bindings> = {}) =>
      call('/api/auth/login', {
        method: 'POST',
        headers: { 'cf-connecting-ip': randomIp(), origin: ORIGIN },
        json: { email: as, password: with_ },
        env: { ...bindings, ...overrides },
      });

    // Another email first: nothing is created.
    expect((await attempt(uniqueEmail('someone'), password)).status).toBe(401);
    const count = async () =>
      rowsOf<{ n: number }>(
        await database.db.execute(sql.raw(`select count(*)::int as n from ${schema}.watchtower_users`)),
      )[0]?.n;
    expect(await count()).toBe(0);

    const first = await attempt(email, password);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ user: { email, role: 'admin' } });
    expect(await count()).toBe(1);
    const audit = rowsOf<{ action: string; actor_kind: string; result: string }>(
      await database.db.execute(
        sql.raw(`select action, actor_kind, result from ${schema}.watchtower_audit_log order by id`),
      ),
    );
    expect(audit).toEqual([
      { action: 'auth.login', actor_kind: 'anonymous', result: 'error' },
      { action: 'users.create', actor_kind: 'bootstrap', result: 'ok' },
      { action: 'auth.login', actor_kind: 'session', result: 'ok' },
    ]);

    // Once a user exists the secrets create nothing more, even if they change.
    expect(
      (await attempt(email, 'some other password', { WATCHTOWER_ADMIN_PASSWORD: 'some other password' }))
        .status,
    ).toBe(401);
    const other = uniqueEmail('second-admin');
    expect((await attempt(other, password, { WATCHTOWER_ADMIN_EMAIL: other })).status).toBe(401);
    expect(await count()).toBe(1);
  });
});
