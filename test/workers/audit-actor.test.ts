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

interface Page {
  entries: Array<{
    action: string;
    actor: { kind: string; id: string; name: string };
    target: { id: string | null };
  }>;
  nextCursor: string | null;
}

/**
 * GET /api/audit?actor=<name>: the entries of an actor by the name people know it by (a user's
 * email, a token's name), which the Audit page's "Actor" filter sends. Readable by a viewer, like
 * the rest of the audit log.
 */
describe('the audit log by actor name', () => {
  it("lists only that actor's entries, newest first, for a user and for a token", async () => {
    const admin = await createToken('admin');
    const person = await createUser('admin');
    const cookie = await login(person.email, person.password);
    // One change by the signed-in user, one by the token, on the same kind of target.
    const byPerson = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      json: { name: unique('by-person'), role: 'viewer' },
    });
    expect(byPerson.status, await byPerson.clone().text()).toBe(201);
    const byToken = await call('/api/tokens', {
      method: 'POST',
      headers: bearer(admin.token),
      json: { name: unique('by-token'), role: 'viewer' },
    });
    expect(byToken.status).toBe(201);

    const viewer = await createToken('viewer');
    const read = async (query: string): Promise<Page> => {
      const response = await call(`/api/audit?${query}`, { headers: bearer(viewer.token) });
      expect(response.status, await response.clone().text()).toBe(200);
      return response.json<Page>();
    };
    const personPage = await read(`actor=${encodeURIComponent(person.email)}`);
    expect(personPage.entries.map((entry) => entry.action)).toEqual(['tokens.create', 'auth.login']);
    for (const entry of personPage.entries)
      expect(entry.actor).toEqual({ kind: 'session', id: person.id, name: person.email });

    const tokenPage = await read(`actor=${encodeURIComponent(admin.name)}&action=tokens.create`);
    expect(tokenPage.entries).toHaveLength(1);
    expect(tokenPage.entries[0]?.actor).toEqual({ kind: 'token', id: admin.id, name: admin.name });

    // Exact, and combined with the other filters.
    expect((await read(`actor=${encodeURIComponent(person.email.toUpperCase())}`)).entries).toEqual([]);
    expect((await read(`actor=${encodeURIComponent(person.email)}&actorKind=token`)).entries).toEqual([]);
    const paged = await read(`actor=${encodeURIComponent(person.email)}&limit=1`);
    expect(paged.entries.map((entry) => entry.action)).toEqual(['tokens.create']);
    const older = await read(`actor=${encodeURIComponent(person.email)}&limit=1&cursor=${paged.nextCursor}`);
    expect(older.entries.map((entry) => entry.action)).toEqual(['auth.login']);
  });

  it('refuses a bad actor with 400, and anonymous readers with 401', async () => {
    for (const actor of ['', '%00', 'a%0Ab', 'x'.repeat(513)]) {
      const response = await call(`/api/audit?actor=${actor}`, { headers: adminHeaders() });
      expect(response.status, actor.slice(0, 20)).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe('bad_request');
      expect(error.message).toContain('actor');
    }
    expect((await call('/api/audit?actor=someone')).status).toBe(401);
  });
});
