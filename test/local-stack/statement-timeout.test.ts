import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { createNeonHttpDatabase, type NeonHttpDb } from '../../core/db/neon-database';
import { isStatementCancelled } from '../../core/db/statement-timeout';
import * as schema from '../../drizzle/schema';
import { type NeonHttp, startNeonHttp } from '../../scripts/local-only/neon-http';
import { testEnv } from '../setup/test-env';

/**
 * The statement timeout on Neon's HTTP path (core/db/statement-timeout.ts), through the real
 * driver and drizzle's neon-http against the local stand-in for Neon's `POST /sql`: every
 * statement and every batch runs under the setting, the setting ends with its statement (the
 * stand-in, like Neon's proxy, reuses its connections), and Postgres really cancels a slow one.
 */

const DATABASE_URL = testEnv.databaseUrl;

let standIn: NeonHttp;
let direct: pg.Client;
let bounded: NeonHttpDb;
let unbounded: NeonHttpDb;
let serverDefault: string;

async function settingOf(db: NeonHttpDb): Promise<string | undefined> {
  const rows = rowsOf<{ value: string }>(
    await db.execute(sql`select current_setting('statement_timeout') as value`),
  );
  return rows[0]?.value;
}

beforeAll(async () => {
  standIn = await startNeonHttp({ port: 0 });
  const localHttp = `127.0.0.1:${standIn.port}`;
  bounded = createNeonHttpDatabase({ url: DATABASE_URL, localHttp, statementTimeoutMs: 300 });
  unbounded = createNeonHttpDatabase({ url: DATABASE_URL, localHttp });
  direct = new pg.Client({ connectionString: DATABASE_URL });
  await direct.connect();
  serverDefault = (await direct.query<{ statement_timeout: string }>('show statement_timeout')).rows[0]!
    .statement_timeout;
});

afterAll(async () => {
  await direct?.end();
  await standIn?.close();
});

describe('a Neon HTTP database with a statement timeout', () => {
  it('runs each statement under it, and the setting ends with the statement', async () => {
    expect(serverDefault).not.toBe('300ms');
    expect(await settingOf(bounded)).toBe('300ms');
    // The stand-in keeps its connections, as Neon's proxy does: one without the setting sees the
    // server's own value, so nothing leaked into the connection.
    for (let i = 0; i < 3; i++) expect(await settingOf(unbounded)).toBe(serverDefault);
    expect(await settingOf(bounded)).toBe('300ms');
  });

  it('keeps results as drizzle expects them, for the query builder and raw SQL', async () => {
    const [counted] = await bounded.select({ n: sql<number>`count(*)::int` }).from(schema.users);
    expect(typeof counted?.n).toBe('number');
    const raw = rowsOf<{ one: number; word: string }>(
      await bounded.execute(sql`select 1 as one, ${'two'}::text as word`),
    );
    expect(raw).toEqual([{ one: 1, word: 'two' }]);
  });

  it('runs a batch under it too, and answers one result per statement of the batch', async () => {
    const results = await bounded.batch([
      bounded.execute(sql`select current_setting('statement_timeout') as value`),
      bounded.select({ n: sql<number>`count(*)::int` }).from(schema.users),
    ]);
    expect(results).toHaveLength(2);
    expect(rowsOf<{ value: string }>(results[0])[0]?.value).toBe('300ms');
    expect(typeof results[1][0]?.n).toBe('number');
  });

  it('has Postgres cancel a statement that runs past it, and the next statement works', async () => {
    const error = await bounded.execute(sql`select pg_sleep(5)`).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isStatementCancelled(error)).toBe(true);
    expect(await settingOf(bounded)).toBe('300ms');
  });

  it('does not take other failures for a cancelled statement', async () => {
    const error = await bounded.execute(sql`select 1 / 0`).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expect(isStatementCancelled(error)).toBe(false);
  });
});
