import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog } from '../../drizzle/schema';
import { adminHeaders, bearer, type CreatedToken, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';

interface Entry {
  id: number;
  at: string;
  actor: { kind: string; id: string; name: string };
  action: string;
  target: { type: string; id: string | null };
  result: string;
  commandId: string | null;
  details: unknown;
}

interface Page {
  entries: Entry[];
  nextCursor: string | null;
}

let database: NeonDatabaseHandle;
let viewer: CreatedToken;

beforeAll(async () => {
  database = openTestDatabase();
  viewer = await createToken('viewer');
});

afterAll(async () => {
  await database.close();
});

async function list(query: string, token = viewer.token): Promise<Page> {
  const response = await call(`/api/audit${query}`, { headers: bearer(token) });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json<Page>();
}

describe('the audit log', () => {
  it('can be read by a viewer, newest first, and filtered by actor, action, target and result', async () => {
    const token = await createToken('admin');
    const targetType = 'audit-test';
    const targetId = unique('target');
    // Entries written the way routes write them, for a target no other suite uses.
    await database.db.insert(auditLog).values([
      {
        actorKind: 'token',
        actorId: token.id,
        actorName: token.name,
        action: 'workers.stop',
        targetType,
        targetId,
        result: 'accepted',
        commandId: crypto.randomUUID(),
      },
      {
        actorKind: 'token',
        actorId: token.id,
        actorName: token.name,
        action: 'workers.stop',
        targetType,
        targetId,
        result: 'ok',
      },
      {
        actorKind: 'session',
        actorId: 'someone',
        actorName: 'someone@example.test',
        action: 'workers.start',
        targetType,
        targetId,
        result: 'error',
        details: { reason: 'no host' },
      },
    ]);

    const all = await list(`?targetType=${targetType}&targetId=${targetId}`);
    expect(all.entries.map((entry) => [entry.action, entry.result])).toEqual([
      ['workers.start', 'error'],
      ['workers.stop', 'ok'],
      ['workers.stop', 'accepted'],
    ]);
    expect(all.entries[0]).toMatchObject({
      actor: { kind: 'session', id: 'someone', name: 'someone@example.test' },
      target: { type: targetType, id: targetId },
      details: { reason: 'no host' },
    });
    expect(all.entries[2]?.commandId).toMatch(/^[0-9a-f-]{36}$/);

    const byActor = await list(`?actorKind=token&actorId=${token.id}&targetId=${targetId}`);
    expect(byActor.entries).toHaveLength(2);
    const byAction = await list(`?action=workers.start&targetType=${targetType}&targetId=${targetId}`);
    expect(byAction.entries).toHaveLength(1);
    const byResult = await list(`?result=accepted&targetType=${targetType}&targetId=${targetId}`);
    expect(byResult.entries).toHaveLength(1);
  });

  it('filters by time range', async () => {
    const targetId = unique('time');
    const old = new Date(Date.now() - 3 * 24 * 3_600_000);
    await database.db.insert(auditLog).values([
      {
        at: old,
        actorKind: 'bootstrap',
        actorId: 'bootstrap',
        action: 'users.create',
        targetType: 'user',
        targetId,
        result: 'ok',
      },
      {
        actorKind: 'bootstrap',
        actorId: 'bootstrap',
        action: 'users.update',
        targetType: 'user',
        targetId,
        result: 'ok',
      },
    ]);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const recent = await list(`?targetType=user&targetId=${targetId}&from=${encodeURIComponent(since)}`);
    expect(recent.entries.map((entry) => entry.action)).toEqual(['users.update']);
    const until = new Date(Date.now() - 2 * 24 * 3_600_000).toISOString();
    const older = await list(`?targetType=user&targetId=${targetId}&to=${encodeURIComponent(until)}`);
    expect(older.entries.map((entry) => entry.action)).toEqual(['users.create']);
  });

  it('pages by key: each page older than the cursor, no entry twice, none skipped', async () => {
    const targetId = unique('pages');
    await database.db.insert(auditLog).values(
      Array.from({ length: 7 }, (_, i) => ({
        actorKind: 'bootstrap',
        actorId: 'bootstrap',
        action: 'tokens.create',
        targetType: 'token',
        targetId,
        result: 'ok' as const,
        details: { i },
      })),
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(
        `?targetType=token&targetId=${targetId}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.entries.map((entry) => (entry.details as { i: number }).i));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('records the changes made through the API, with the actor and the result', async () => {
    const admin = await createToken('admin');
    const name = unique('audited');
    const created = await call('/api/tokens', {
      method: 'POST',
      headers: bearer(admin.token),
      json: { name, role: 'viewer' },
    });
    const { id } = await created.json<{ id: string }>();
    await call(`/api/tokens/${id}`, { method: 'DELETE', headers: bearer(admin.token) });
    // Revoking again changes nothing, so it writes nothing.
    await call(`/api/tokens/${id}`, { method: 'DELETE', headers: bearer(admin.token) });
    const page = await list(`?targetType=token&targetId=${id}`);
    expect(page.entries.map((entry) => entry.action)).toEqual(['tokens.revoke', 'tokens.create']);
    for (const entry of page.entries) {
      expect(entry).toMatchObject({ actor: { kind: 'token', id: admin.id, name: admin.name }, result: 'ok' });
    }
    expect(page.entries[1]?.details).toMatchObject({
      name,
      role: 'viewer',
      prefix: expect.stringMatching(/^wt_/),
    });
    expect(JSON.stringify(page.entries)).not.toMatch(/wt_[A-Za-z0-9_-]{43}/);
  });

  it('refuses bad filters with 400 and anonymous readers with 401', async () => {
    for (const query of [
      '?cursor=abc',
      '?cursor=0',
      '?limit=0',
      '?limit=501',
      '?from=yesterday',
      '?result=maybe',
      '?actorKind=robot',
      '?action=DROP%20TABLE',
    ]) {
      const response = await call(`/api/audit${query}`, { headers: adminHeaders() });
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).code).toBe('bad_request');
    }
    expect((await call('/api/audit')).status).toBe(401);
  });
});
