import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog } from '../../drizzle/schema';
import { addressGroup } from '../../functions/auth/client-address';
import { BEARER_FAILURE_LIMIT, LOGIN_LIMITS } from '../../functions/auth/login-rate-limit';
import { bearer, call, createToken, createUser, errorOf, ORIGIN, randomIp } from './support/api';
import { openTestDatabase } from './support/database';

let database: NeonDatabaseHandle;

beforeAll(() => {
  database = openTestDatabase();
});

afterAll(async () => {
  await database.close();
});

function loginFrom(ip: string, email: string, password: string): Promise<Response> {
  return call('/api/auth/login', {
    method: 'POST',
    headers: { 'cf-connecting-ip': ip, origin: ORIGIN },
    json: { email, password },
  });
}

/**
 * Attempts that reached password verification: each writes one `auth.login` audit row with the
 * reason `wrong password`, and a throttled attempt never does (it is refused before the hash).
 */
async function verifications(email: string): Promise<number> {
  const rows = await database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.action, 'auth.login'),
        sql`${auditLog.details}->>'email' = ${email}`,
        sql`${auditLog.details}->>'reason' = 'wrong password'`,
      ),
    );
  return rows[0]?.n ?? 0;
}

async function refusalRows(email: string): Promise<number> {
  const rows = await database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.action, 'auth.login'),
        sql`${auditLog.details}->>'email' = ${email}`,
        sql`${auditLog.details}->>'reason' = 'rate limited'`,
      ),
    );
  return rows[0]?.n ?? 0;
}

async function statuses(responses: Response[]): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const response of responses) {
    counts[response.status] = (counts[response.status] ?? 0) + 1;
    await response.body?.cancel();
  }
  return counts;
}

function randomHex(): string {
  return crypto.getRandomValues(new Uint16Array(1))[0]?.toString(16) ?? '0';
}

describe('login throttling under parallel attack', () => {
  it('lets at most the per-account limit of 200 parallel attempts from one address check the password', async () => {
    const user = await createUser('viewer');
    const ip = randomIp();
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => loginFrom(ip, user.email, 'wrong password!')),
    );
    const counts = await statuses(responses);
    expect(Object.keys(counts).sort()).toEqual(['401', '429']);
    expect(counts[401]).toBeLessThanOrEqual(LOGIN_LIMITS.addressAccount);
    expect(await verifications(user.email)).toBeLessThanOrEqual(LOGIN_LIMITS.addressAccount);
    // The refusals are not 190 audit rows: one per limit crossed at most.
    expect(await refusalRows(user.email)).toBeGreaterThanOrEqual(1);
    expect(await refusalRows(user.email)).toBeLessThanOrEqual(Object.keys(LOGIN_LIMITS).length);
    // Even the right password is refused now, from that address.
    expect((await loginFrom(ip, user.email, user.password)).status).toBe(429);
  });

  it('counts 200 addresses of one IPv6 /64 as one address', async () => {
    const user = await createUser('viewer');
    const prefix = `2001:db8:${randomHex()}:${randomHex()}`;
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        loginFrom(`${prefix}:${(i + 1).toString(16)}:${randomHex()}::1`, user.email, 'wrong password!'),
      ),
    );
    const counts = await statuses(responses);
    expect(counts[401]).toBeLessThanOrEqual(LOGIN_LIMITS.addressAccount);
    expect(await verifications(user.email)).toBeLessThanOrEqual(LOGIN_LIMITS.addressAccount);
    // The /64 used up its per-address allowance too: another account from it is refused, from
    // another /64 it is not.
    const other = await createUser('viewer');
    expect((await loginFrom(`${prefix}:abcd::2`, other.email, other.password)).status).toBe(429);
    expect((await loginFrom(`2001:db8:ffff:${randomHex()}::1`, other.email, other.password)).status).toBe(
      200,
    );
  });

  it('limits one account across many addresses', async () => {
    const user = await createUser('viewer');
    const responses = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        loginFrom(`203.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, user.email, 'wrong password!'),
      ),
    );
    const counts = await statuses(responses);
    expect(counts[401]).toBeLessThanOrEqual(LOGIN_LIMITS.account);
    expect(await verifications(user.email)).toBeLessThanOrEqual(LOGIN_LIMITS.account);
    const limited = await loginFrom(randomIp(), user.email, user.password);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('groups addresses: IPv4 as is, IPv6 by /64, IPv4-mapped IPv6 as IPv4', () => {
    expect(addressGroup('198.51.100.7')).toBe('198.51.100.7');
    expect(addressGroup('2001:DB8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressGroup('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(addressGroup(null)).toBe('unknown');
    expect(addressGroup('not:an:address:::')).toBe('not:an:address:::');
  });
});

describe('bearer token throttling', () => {
  it('answers 429 to an address past the limit of invalid tokens, even with a valid one', async () => {
    const valid = await createToken('viewer');
    const ip = randomIp();
    for (let attempt = 1; attempt <= BEARER_FAILURE_LIMIT; attempt++) {
      const response = await call('/api/auth/me', {
        headers: {
          ...bearer(`wt_guess${attempt}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`),
          'cf-connecting-ip': ip,
        },
      });
      expect(response.status, `attempt ${attempt}`).toBe(401);
    }
    const refused = await call('/api/auth/me', {
      headers: { ...bearer('wt_guessAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'cf-connecting-ip': ip },
    });
    expect(refused.status).toBe(429);
    expect((await errorOf(refused)).code).toBe('too_many_requests');
    const validFromThere = await call('/api/auth/me', {
      headers: { ...bearer(valid.token), 'cf-connecting-ip': ip },
    });
    expect(validFromThere.status).toBe(429);
    const validElsewhere = await call('/api/auth/me', {
      headers: { ...bearer(valid.token), 'cf-connecting-ip': randomIp() },
    });
    expect(validElsewhere.status).toBe(200);

    // Aggregated in the audit log: the first failure and the one that reached the limit.
    const rows = await database.db
      .select({ details: auditLog.details })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'auth.token'), eq(auditLog.ip, ip)));
    expect(
      rows.map((row) => (row.details as { failuresThisWindow: number }).failuresThisWindow).sort(),
    ).toEqual([1, BEARER_FAILURE_LIMIT].sort());
  });
});
