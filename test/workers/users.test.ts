import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog, sessions, users } from '../../drizzle/schema';
import {
  adminHeaders,
  bearer,
  type CreatedToken,
  call,
  createToken,
  createUser,
  errorOf,
  login,
  ORIGIN,
  uniqueEmail,
} from './support/api';
import { openTestDatabase } from './support/database';

interface UserBody {
  id: string;
  email: string;
  name: string;
  role: string;
  disabled: boolean;
  hasPassword: boolean;
}

let database: NeonDatabaseHandle;
let admin: CreatedToken;

beforeAll(async () => {
  database = openTestDatabase();
  admin = await createToken('admin');
});

afterAll(async () => {
  await database.close();
});

async function auditOf(targetId: string) {
  return database.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.targetId, targetId))
    .orderBy(desc(auditLog.id));
}

describe('users', () => {
  it('are created, read, changed and deleted by an admin, each change audited with who and what', async () => {
    const email = uniqueEmail('crud');
    const headers = bearer(admin.token);
    const created = await call('/api/users', {
      method: 'POST',
      headers: { ...headers, 'user-agent': 'users-test/1.0', 'cf-connecting-ip': '203.0.113.9' },
      json: { email: email.toUpperCase(), name: 'Ada', role: 'viewer', password: 'correct horse battery' },
    });
    expect(created.status).toBe(201);
    const user = await created.json<UserBody>();
    expect(user).toMatchObject({ email, name: 'Ada', role: 'viewer', disabled: false, hasPassword: true });
    expect(Object.keys(user)).not.toContain('passwordHash');

    expect(await (await call(`/api/users/${user.id}`, { headers })).json()).toEqual(user);

    const changed = await call(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers,
      json: { role: 'operator', name: 'Ada L.' },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ role: 'operator', name: 'Ada L.' });

    const deleted = await call(`/api/users/${user.id}`, { method: 'DELETE', headers });
    expect(deleted.status).toBe(204);
    expect((await call(`/api/users/${user.id}`, { headers })).status).toBe(404);
    expect((await call(`/api/users/${user.id}`, { method: 'DELETE', headers })).status).toBe(404);

    const entries = await auditOf(user.id);
    expect(entries.map((entry) => entry.action)).toEqual(['users.delete', 'users.update', 'users.create']);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        actorKind: 'token',
        actorId: admin.id,
        actorName: admin.name,
        targetType: 'user',
        result: 'ok',
      });
      expect(entry.at).toBeInstanceOf(Date);
    }
    expect(entries[2]).toMatchObject({
      ip: '203.0.113.9',
      userAgent: 'users-test/1.0',
      details: { email, role: 'viewer', password: true },
    });
    expect(entries[1]?.details).toEqual({
      email,
      changes: { role: { from: 'viewer', to: 'operator' }, name: { from: 'Ada', to: 'Ada L.' } },
    });
    expect(JSON.stringify(entries)).not.toContain('correct horse battery');
  });

  it('have unique emails, whatever their case', async () => {
    const email = uniqueEmail('dupe');
    const first = await call('/api/users', {
      method: 'POST',
      headers: adminHeaders(),
      json: { email, role: 'viewer' },
    });
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ hasPassword: false });
    const second = await call('/api/users', {
      method: 'POST',
      headers: adminHeaders(),
      json: { email: email.toUpperCase(), role: 'admin', password: 'another long password' },
    });
    expect(second.status).toBe(409);
    expect(await errorOf(second)).toMatchObject({ code: 'conflict' });
    const rows = await database.db.select().from(users).where(eq(users.email, email));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.role).toBe('viewer');
  });

  it('keep hostile names as text', async () => {
    const name = `<script>alert("x")</script> '; drop table watchtower_users; -- 🚀`;
    const response = await call('/api/users', {
      method: 'POST',
      headers: adminHeaders(),
      json: { email: uniqueEmail('hostile'), name, role: 'viewer' },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const user = await response.json<UserBody>();
    expect(user.name).toBe(name);
    const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
    expect(row?.name).toBe(name);
  });

  it('refuse a short password and an empty change', async () => {
    const short = await call('/api/users', {
      method: 'POST',
      headers: adminHeaders(),
      json: { email: uniqueEmail('short'), role: 'viewer', password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(await errorOf(short)).toMatchObject({
      details: [expect.objectContaining({ path: ['password'] })],
    });
    const user = await createUser('viewer');
    const empty = await call(`/api/users/${user.id}`, { method: 'PATCH', headers: adminHeaders(), json: {} });
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).message).toContain('nothing to change');
  });

  it('lose their sessions when disabled or given a new password', async () => {
    const user = await createUser('viewer');
    const [a, b] = [await login(user.email, user.password), await login(user.email, user.password)];
    const newPassword = 'a brand new password';
    await call(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { password: newPassword },
    });
    expect((await call('/api/auth/me', { headers: { cookie: a } })).status).toBe(401);
    expect((await call('/api/auth/me', { headers: { cookie: b } })).status).toBe(401);
    const c = await login(user.email, newPassword);
    expect((await call('/api/auth/me', { headers: { cookie: c } })).status).toBe(200);
    await call(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers: adminHeaders(),
      json: { disabled: true },
    });
    expect((await call('/api/auth/me', { headers: { cookie: c } })).status).toBe(401);
    const open = await database.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, user.id)));
    expect(open.every((session) => session.revokedAt !== null)).toBe(true);
  });

  it('cannot lock themselves out: an admin cannot demote, disable or delete themselves', async () => {
    const me = await createUser('admin');
    const cookie = await login(me.email, me.password);
    const headers = { cookie, origin: ORIGIN };
    for (const [method, json, what] of [
      ['PATCH', { role: 'operator' }, 'demote'],
      ['PATCH', { disabled: true }, 'disable'],
      ['DELETE', undefined, 'delete'],
    ] as const) {
      const response = await call(`/api/users/${me.id}`, { method, headers, ...(json && { json }) });
      expect(response.status, what).toBe(409);
      expect((await errorOf(response)).message).toContain(`cannot ${what} yourself`);
    }
    // Changing their own name and password is fine, and keeps the session in use.
    const renamed = await call(`/api/users/${me.id}`, {
      method: 'PATCH',
      headers,
      json: { name: 'Me', password: 'my own new password' },
    });
    expect(renamed.status).toBe(200);
    expect((await call('/api/auth/me', { headers: { cookie } })).status).toBe(200);
  });

  it('list by email with key-based pages', async () => {
    const emails = await Promise.all([1, 2, 3].map(async () => (await createUser('viewer')).email));
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 1_000; page++) {
      const query: string = `?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await call(`/api/users${query}`, { headers: adminHeaders() });
      expect(response.status).toBe(200);
      const body = await response.json<{ users: UserBody[]; nextCursor: string | null }>();
      seen.push(...body.users.map((user) => user.email));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    for (const email of emails) expect(seen).toContain(email);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await call('/api/users?cursor=bm90LWpzb24', { headers: adminHeaders() });
    expect(bad.status).toBe(400);
  });
});
