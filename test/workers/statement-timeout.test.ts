import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { adminHeaders, call, errorOf, uniqueEmail } from './support/api';
import { openTestDatabase } from './support/database';
import { type Fleet, Seed, seedFleet } from './support/seed';

/**
 * Every statement of an API request runs under WATCHTOWER_STATEMENT_TIMEOUT_MS. To make a route's
 * statement slow for real, another connection holds an ACCESS EXCLUSIVE lock on the table it
 * reads or writes: the statement waits for the lock, the timeout (300 ms here) cancels it, the
 * client gets 503 `unavailable`, and once the lock is gone the same request succeeds (under the
 * default timeout: the point is that the Worker is fine, not how fast the next one is). The lock is
 * held only while the one request runs, so other suites sharing the database wait a moment at most.
 */

const SHORT = { WATCHTOWER_STATEMENT_TIMEOUT_MS: '300' };
const TOOK_TOO_LONG = /took too long/;

let database: NeonDatabaseHandle;
let seed: Seed;
let fleet: Fleet;

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  fleet = await seedFleet(seed, 'stmt-timeout');
});

afterAll(async () => {
  await database.db.execute(sql`delete from watchtower_commands where target_id = ${fleet.running}`);
  await seed.cleanup();
  await database.close();
});

type LockedTable = 'watchtower_jobs' | 'watchtower_users' | 'watchtower_commands';

/**
 * Runs `during` while this test's own connection holds an ACCESS EXCLUSIVE lock on `table`.
 * Safety valve: were the timeout lost, the route would wait on the lock and the lock on the route;
 * idle_in_transaction_session_timeout then ends the holder's session, so the test fails on its
 * assertion instead of holding the table for the whole test timeout.
 */
async function whileLocked<T>(table: LockedTable, during: () => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`set local lock_timeout = '10s'`);
    await tx.execute(sql`set local idle_in_transaction_session_timeout = '10s'`);
    await tx.execute(sql.raw(`lock table ${table} in access exclusive mode`));
    return during();
  });
}

async function expectTimedOut(response: Response): Promise<void> {
  const error = await errorOf(response);
  expect({ status: response.status, code: error.code }).toEqual({ status: 503, code: 'unavailable' });
  expect(error.message).toMatch(TOOK_TOO_LONG);
}

describe('a statement past WATCHTOWER_STATEMENT_TIMEOUT_MS', () => {
  it('answers 503 on a read through Neon HTTP (GET /api/jobs), and the next request works', async () => {
    const blocked = await whileLocked('watchtower_jobs', () =>
      call('/api/jobs?limit=5', { headers: adminHeaders(), env: SHORT }),
    );
    await expectTimedOut(blocked);
    const after = await call('/api/jobs?limit=5', { headers: adminHeaders() });
    expect(after.status).toBe(200);
    expect(Array.isArray((await after.json<{ jobs: unknown[] }>()).jobs)).toBe(true);
  });

  it('answers 503 inside an interactive transaction (POST /api/users), which keeps nothing', async () => {
    const email = uniqueEmail('timeout');
    const create = (env?: typeof SHORT) =>
      call('/api/users', {
        method: 'POST',
        headers: adminHeaders(),
        ...(env && { env }),
        json: { email, name: 'Timeout', role: 'viewer' },
      });
    await expectTimedOut(await whileLocked('watchtower_users', () => create(SHORT)));
    const kept = rowsOf<{ n: string }>(
      await database.db.execute(sql`select count(*) as n from watchtower_users where email = ${email}`),
    );
    expect(Number(kept[0]?.n)).toBe(0);
    const audited = rowsOf<{ n: string }>(
      await database.db.execute(
        sql`select count(*) as n from watchtower_audit_log where action = 'users.create' and details->>'email' = ${email}`,
      ),
    );
    expect(Number(audited[0]?.n)).toBe(0);
    const again = await create();
    expect(again.status).toBe(201);
  });

  it('answers 503 when the command bus cannot store a command, and says so in the audit row', async () => {
    const stop = (env?: typeof SHORT) =>
      call(`/api/workers/${fleet.running}/stop`, {
        method: 'POST',
        headers: adminHeaders(),
        ...(env && { env }),
      });
    await expectTimedOut(await whileLocked('watchtower_commands', () => stop(SHORT)));
    const stored = rowsOf<{ n: string }>(
      await database.db.execute(
        sql`select count(*) as n from watchtower_commands where target_id = ${fleet.running}`,
      ),
    );
    expect(Number(stored[0]?.n)).toBe(0);
    const audit = rowsOf<{ result: string; error: string | null }>(
      await database.db.execute(
        sql`select result, details->>'error' as error from watchtower_audit_log
            where action = 'workers.stop' and target_id = ${fleet.running} order by id`,
      ),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]?.result).toBe('error');
    expect(audit[0]?.error).toMatch(/statement timeout/);
    const again = await stop();
    expect(again.status).toBe(202);
  });
});

describe('WATCHTOWER_STATEMENT_TIMEOUT_MS', () => {
  it.each(['soon', '0', '99', '300001', '2.5', '-1', '1e4'])(
    'refuses %j clearly and changes nothing',
    async (value) => {
      const email = uniqueEmail('bad-timeout');
      const response = await call('/api/users', {
        method: 'POST',
        headers: adminHeaders(),
        env: { WATCHTOWER_STATEMENT_TIMEOUT_MS: value },
        json: { email, name: 'Never', role: 'viewer' },
      });
      const error = await errorOf(response);
      expect({ status: response.status, code: error.code }).toEqual({ status: 500, code: 'misconfigured' });
      expect(error.message).toContain(
        'WATCHTOWER_STATEMENT_TIMEOUT_MS must be a whole number of milliseconds',
      );
      expect(error.message).toContain(JSON.stringify(value));
      const kept = rowsOf<{ n: string }>(
        await database.db.execute(sql`select count(*) as n from watchtower_users where email = ${email}`),
      );
      expect(Number(kept[0]?.n)).toBe(0);
    },
  );

  it('accepts a value in range', async () => {
    const response = await call('/api/jobs?limit=1', {
      headers: adminHeaders(),
      env: { WATCHTOWER_STATEMENT_TIMEOUT_MS: ' 300000 ' },
    });
    expect(response.status).toBe(200);
  });
});
