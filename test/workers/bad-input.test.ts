import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import {
  adminHeaders,
  type CreatedToken,
  call,
  createToken,
  createUser,
  errorOf,
  unique,
  uniqueEmail,
} from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';

let database: NeonDatabaseHandle;

beforeAll(() => {
  database = openTestDatabase();
});

afterAll(async () => {
  await database.close();
});

describe('bad input', () => {
  const valid = () => ({ name: unique('bad-input'), role: 'viewer' });

  it('a body over 256 KiB answers 413 payload_too_large, with or without a Content-Length', async () => {
    const big = JSON.stringify({ ...valid(), padding: 'x'.repeat(300 * 1024) });
    const sized = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: big,
    });
    expect(sized.status).toBe(413);
    expect(await errorOf(sized)).toEqual({
      code: 'payload_too_large',
      message: 'Request body is over 262144 bytes',
    });

    // A streamed body has no Content-Length: the limit counts as it reads.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 16 * 1024)
          controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
        controller.close();
      },
    });
    const streamed = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: stream,
    });
    expect(streamed.status).toBe(413);
    expect((await errorOf(streamed)).code).toBe('payload_too_large');
  });

  it('malformed JSON answers 400 bad_request', async () => {
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: '{"name": "x", "role": ',
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      code: 'bad_request',
      message: 'Malformed JSON in request body',
    });
  });

  it('a body that is not JSON answers 415 unsupported_media_type', async () => {
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'text/plain' },
      body: JSON.stringify(valid()),
    });
    expect(response.status).toBe(415);
    expect((await errorOf(response)).code).toBe('unsupported_media_type');
  });

  it('a missing body answers 400 naming the missing fields', async () => {
    const response = await call('/api/tokens', { method: 'POST', headers: adminHeaders() });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('bad_request');
    expect(error.details).toEqual([
      expect.objectContaining({ location: 'json', path: ['name'] }),
      expect.objectContaining({ location: 'json', path: ['role'] }),
    ]);
  });

  it('a validation error says where and what, without echoing the value', async () => {
    const secret = 'do-not-echo-this-value';
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name: `bell\u0007${secret}`, role: secret, extra: secret },
    });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.message).toMatch(/^Invalid request body: /);
    expect(error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          location: 'json',
          path: ['name'],
          message: 'must not contain control characters',
        }),
        expect.objectContaining({ location: 'json', path: ['role'], code: 'invalid_value' }),
        expect.objectContaining({ location: 'json', code: 'unrecognized_keys' }),
      ]),
    );
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('unknown routes answer 404 in the error shape once authenticated', async () => {
    const response = await call('/api/nope', { method: 'POST', headers: adminHeaders() });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: 'not_found', message: 'No route for POST /api/nope' });
  });
});

describe('the fuzzer on the auth, users, tokens and audit routes', () => {
  let targetUser: { id: string };
  let targetToken: CreatedToken;

  beforeAll(async () => {
    [targetUser, targetToken] = await Promise.all([createUser('viewer'), createToken('viewer')]);
  });

  it('answers every bad input with a 4xx in the error shape and changes nothing', async () => {
    const newEmail = uniqueEmail('fuzz-new');
    const newTokenName = unique('fuzz-token');
    const report = await fuzzRoutes({
      headers: adminHeaders(),
      db: database.db,
      tables: ['watchtower_users', 'watchtower_api_tokens', 'watchtower_sessions', 'watchtower_audit_log'],
      watch: [
        { label: 'the target user', query: sql`select * from watchtower_users where id = ${targetUser.id}` },
        {
          label: 'the target token',
          query: sql`select * from watchtower_api_tokens where id = ${targetToken.id}`,
        },
        {
          label: "the target user's sessions",
          query: sql`select * from watchtower_sessions where user_id = ${targetUser.id}`,
        },
        {
          label: 'a user with the sample email',
          query: sql`select * from watchtower_users where email = ${newEmail}`,
        },
        {
          label: 'a token with the sample name',
          query: sql`select * from watchtower_api_tokens where name = ${newTokenName}`,
        },
      ],
      routes: [
        {
          method: 'POST',
          path: '/api/auth/login',
          body: { email: newEmail, password: 'a wrong password' },
          freeText: ['password'],
        },
        {
          method: 'POST',
          path: '/api/users',
          body: { email: newEmail, name: 'Fuzz', role: 'viewer', password: 'long enough password' },
          freeText: ['name', 'password'],
        },
        {
          method: 'PATCH',
          path: `/api/users/${targetUser.id}`,
          body: { name: 'Renamed', role: 'operator', disabled: true, password: 'another long password' },
          freeText: ['name', 'password'],
          idTemplate: '/api/users/{id}',
        },
        { method: 'GET', path: '/api/users', query: { limit: '10', cursor: 'WyJhQGV4YW1wbGUudGVzdCJd' } },
        { method: 'GET', path: `/api/users/${targetUser.id}`, idTemplate: '/api/users/{id}' },
        { method: 'DELETE', path: `/api/users/${targetUser.id}`, idTemplate: '/api/users/{id}' },
        {
          method: 'POST',
          path: '/api/tokens',
          body: {
            name: newTokenName,
            role: 'viewer',
            expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
          },
          freeText: ['name'],
        },
        { method: 'GET', path: '/api/tokens', query: { limit: '10', includeRevoked: 'true' } },
        { method: 'GET', path: `/api/tokens/${targetToken.id}`, idTemplate: '/api/tokens/{id}' },
        { method: 'DELETE', path: `/api/tokens/${targetToken.id}`, idTemplate: '/api/tokens/{id}' },
        {
          method: 'GET',
          path: '/api/audit',
          query: {
            actorKind: 'token',
            actorId: 'someone',
            action: 'users.create',
            targetType: 'user',
            targetId: 'someone',
            result: 'ok',
            from: '2026-01-01T00:00:00Z',
            to: '2026-12-31T00:00:00Z',
            cursor: '1000',
            limit: '10',
          },
          freeTextQuery: ['actorId', 'targetId'],
        },
      ],
    });
    expect(report.requests).toBeGreaterThan(500);
    expect(Object.keys(report.byStatus).every((status) => Number(status) < 500)).toBe(true);
    // A bad input must be cheap to refuse: a slow one is a denial of service waiting to happen.
    expect(report.slowest[0]?.ms ?? 0, JSON.stringify(report.slowest)).toBeLessThan(5_000);
  }, 120_000);
});

describe('the fuzzer itself', () => {
  const route = { method: 'GET' as const, path: '/api/audit', query: { limit: '10' } };

  it('fails on a 5xx answer', async () => {
    await expect(
      fuzzRoutes({
        headers: adminHeaders(),
        db: database.db,
        tables: [],
        routes: [route],
        send: async () =>
          Response.json({ error: { code: 'internal_error', message: 'boom' } }, { status: 500 }),
      }),
    ).rejects.toThrow(/expected a 4xx, got 500/);
  });

  it('fails when a bad input changed the database', async () => {
    let wrote = false;
    await expect(
      fuzzRoutes({
        headers: adminHeaders(),
        db: database.db,
        tables: ['watchtower_audit_log'],
        routes: [route],
        // A route that wrongly audits a refused request: the row carries the run's client address.
        send: async (path, init) => {
          if (!wrote) {
            wrote = true;
            const ip = init.headers?.['cf-connecting-ip'] ?? '';
            await database.db.execute(
              sql`insert into watchtower_audit_log (actor_kind, actor_id, action, target_type, result, ip) values ('token', 'x', 'fuzz.selftest', 'none', 'error', ${ip})`,
            );
          }
          return call(path, init);
        },
      }),
    ).rejects.toThrow(/database changed: audit entries from the fuzz run/);
  });
});
