import { randomBytes } from 'node:crypto';
import { NeonDbError, neon, neonConfig } from '@neondatabase/serverless';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-http';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { type NeonHttp, startNeonHttp } from '../../scripts/local-only/neon-http';
import { testEnv } from '../setup/test-env';
import { buildWorkerBundle, startApiInWorkerd } from '../support/api-in-workerd';

const DATABASE_URL = testEnv.databaseUrl;
const tableName = `local_stack_http_probe_${randomBytes(6).toString('hex')}`;
const probes = pgTable(tableName, { id: integer('id').primaryKey(), label: text('label').notNull() });

let standIn: NeonHttp;
let direct: pg.Client;

async function rowCount(): Promise<number> {
  const { rows } = await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${tableName}`);
  return rows[0]?.n ?? -1;
}

/**
 * drizzle's neon-http driver (loaded here) makes the driver keep timestamps as Postgres's text, as
 * its neon-serverless one does: read them back with node-postgres's own parser.
 */
function instant(value: unknown): Date {
  expect(typeof value).toBe('string');
  return pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ)(String(value)) as Date;
}

async function neonError(promise: Promise<unknown>): Promise<NeonDbError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(NeonDbError);
  return error as NeonDbError;
}

beforeAll(async () => {
  standIn = await startNeonHttp({ port: 0 });
  neonConfig.fetchEndpoint = standIn.endpoint;
  direct = new pg.Client({ connectionString: DATABASE_URL });
  await direct.connect();
  await direct.query(`CREATE TABLE ${tableName} (id integer PRIMARY KEY, label text NOT NULL)`);
});

afterAll(async () => {
  await direct?.query(`DROP TABLE IF EXISTS ${tableName}`);
  await direct?.end();
  await standIn?.close();
});

describe('neon http stand-in, through the real neon() client', () => {
  const query = neon(DATABASE_URL);

  it('answers the types as Neon does: text values parsed by the driver', async () => {
    const rows = await query`SELECT 42::int AS int, 9007199254740993::bigint AS big, 12.50::numeric AS num,
      true AS yes, false AS no, '{"a":[1,"x"]}'::jsonb AS jsonb, '{"b":null}'::json AS json,
      '2024-05-06T07:08:09.123Z'::timestamptz AS at, ARRAY[1,2,3]::int[] AS ints,
      ARRAY['a b','c"d',NULL]::text[] AS texts, NULL::text AS nothing, 'héllo ✓'::text AS word`;
    expect(rows).toEqual([
      {
        int: 42,
        big: '9007199254740993',
        num: '12.50',
        yes: true,
        no: false,
        jsonb: { a: [1, 'x'] },
        json: { b: null },
        at: expect.any(String),
        ints: [1, 2, 3],
        texts: ['a b', 'c"d', null],
        nothing: null,
        word: 'héllo ✓',
      },
    ]);
    expect(instant(rows[0]?.at).toISOString()).toBe('2024-05-06T07:08:09.123Z');
  });

  it('passes parameters of every kind', async () => {
    const at = new Date('2025-01-02T03:04:05.678Z');
    const rows = await query.query(
      `SELECT $1::int + $2::int AS sum, $3::text AS word, $4::jsonb AS doc, $5::timestamptz AS at,
              $6::text[] AS list, $7::text IS NULL AS missing, $8::bool AS flag`,
      [40, 2, "it's", { nested: ['x', 1] }, at, ['p', 'q r'], null, true],
    );
    expect(instant(rows[0]?.at)).toEqual(at);
    expect(rows).toEqual([
      {
        sum: 42,
        word: "it's",
        doc: { nested: ['x', 1] },
        at: expect.any(String),
        list: ['p', 'q r'],
        missing: true,
        flag: true,
      },
    ]);
  });

  it('answers full results with fields, command and row count', async () => {
    const result = await query.query(
      `INSERT INTO ${tableName} (id, label) VALUES ($1, $2), ($3, $4)`,
      [1, 'one', 2, 'two'],
      { fullResults: true },
    );
    expect(result).toMatchObject({ command: 'INSERT', rowCount: 2, rows: [] });
    const select = await query.query(`SELECT id, label FROM ${tableName} ORDER BY id`, [], {
      fullResults: true,
      arrayMode: true,
    });
    expect(select.rows).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    expect(select.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
      ['id', 23],
      ['label', 25],
    ]);
    await direct.query(`DELETE FROM ${tableName}`);
  });

  it('hands a Postgres error to the client with its code and fields', async () => {
    await direct.query(`INSERT INTO ${tableName} (id, label) VALUES (7, 'seven')`);
    const duplicate = await neonError(
      query.query(`INSERT INTO ${tableName} (id, label) VALUES (7, 'again')`),
    );
    expect(duplicate.code).toBe('23505');
    expect(duplicate.constraint).toBe(`${tableName}_pkey`);
    expect(duplicate.detail).toContain('(id)=(7)');
    const syntax = await neonError(query`SELEC 1`);
    expect(syntax.code).toBe('42601');
    expect(syntax.position).toBe('1');
    const division = await neonError(query`SELECT 1 / ${0}::int`);
    expect(division.code).toBe('22012');
    expect(division.message).toBe('division by zero');
    await direct.query(`DELETE FROM ${tableName}`);
  });

  it('allows one statement per query, as Neon does', async () => {
    const error = await neonError(query.query('SELECT 1; SELECT 2'));
    expect(error.code).toBe('42601');
  });

  it('runs a transaction all or nothing', async () => {
    const results = await query.transaction(
      (tx) => [
        tx`INSERT INTO ${query.unsafe(tableName)} (id, label) VALUES (10, 'ten')`,
        tx`SELECT count(*)::int AS n FROM ${query.unsafe(tableName)}`,
      ],
      { isolationLevel: 'Serializable', readOnly: false },
    );
    expect(results[1]).toEqual([{ n: 1 }]);

    const failing = neonError(
      query.transaction([
        query`INSERT INTO ${query.unsafe(tableName)} (id, label) VALUES (11, 'eleven')`,
        query`INSERT INTO ${query.unsafe(tableName)} (id, label) VALUES (10, 'duplicate')`,
      ]),
    );
    expect((await failing).code).toBe('23505');
    expect(await rowCount()).toBe(1);

    const readOnly = await neonError(
      query.transaction([query`INSERT INTO ${query.unsafe(tableName)} (id, label) VALUES (12, 'x')`], {
        readOnly: true,
      }),
    );
    expect(readOnly.code).toBe('25006');
    await direct.query(`DELETE FROM ${tableName}`);
  });

  it('does not keep a connection inside a transaction a statement left open', async () => {
    await query`BEGIN`;
    // Were the connection kept, this insert would wait in the open transaction and never commit.
    await query.query(`INSERT INTO ${tableName} (id, label) VALUES (20, 'committed')`);
    expect(await rowCount()).toBe(1);
    await direct.query(`DELETE FROM ${tableName}`);
  });

  it('answers a connection failure as an error, not a hang', async () => {
    const unreachable = neon('postgres://postgres@127.0.0.1:1/nowhere');
    const error = await neonError(unreachable`SELECT 1`);
    expect(error.message).toMatch(/ECONNREFUSED|connect/);
  });

  it('connects to loopback databases only', async () => {
    const remote = neon('postgres://postgres@192.0.2.1:5432/elsewhere');
    const error = await neonError(remote`SELECT 1`);
    expect(error.message).toContain('loopback only');
  });
});

describe('neon http stand-in, through drizzle neon-http', () => {
  const db = drizzle({ client: neon(DATABASE_URL) });

  it('selects, inserts and executes raw SQL', async () => {
    await db.insert(probes).values([
      { id: 1, label: 'a' },
      { id: 2, label: 'b' },
    ]);
    expect(await db.select().from(probes).where(eq(probes.id, 2))).toEqual([{ id: 2, label: 'b' }]);
    const raw = await db.execute(sql`select count(*)::int as n, now() as at from ${probes}`);
    const [row] = rowsOf<{ n: number; at: string }>(raw);
    expect(row?.n).toBe(2);
    // drizzle's neon-http keeps timestamps as Postgres's text, as its neon-serverless driver does.
    expect(typeof row?.at).toBe('string');
    await db.delete(probes);
  });

  it('rolls a batch back when one statement fails', async () => {
    await expect(
      db.batch([
        db.insert(probes).values({ id: 5, label: 'kept?' }),
        db.insert(probes).values({ id: 5, label: 'dup' }),
      ]),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await rowCount()).toBe(0);
    const [inserted, selected] = await db.batch([
      db.insert(probes).values({ id: 6, label: 'six' }).returning(),
      db.select().from(probes),
    ]);
    expect(inserted).toEqual([{ id: 6, label: 'six' }]);
    expect(selected).toEqual([{ id: 6, label: 'six' }]);
    await db.delete(probes);
  });

  it('refuses an interactive transaction, which needs the WebSocket path', async () => {
    await expect(db.transaction(async () => undefined)).rejects.toThrow(/No transactions support/);
  });
});

describe('the Cloudflare Worker on the stand-in', () => {
  it('reads over HTTP alone and takes the WebSocket only for an interactive transaction', async () => {
    const bundle = await buildWorkerBundle();
    // Nothing listens on port 1: whatever needs the WebSocket path fails, reads must not.
    const api = await startApiInWorkerd(bundle, {
      DATABASE_URL,
      WATCHTOWER_LOCAL_NEON_RELAY: '127.0.0.1:1',
      WATCHTOWER_LOCAL_NEON_HTTP: `127.0.0.1:${standIn.port}`,
      WATCHTOWER_ADMIN_TOKEN: testEnv.adminToken,
    });
    try {
      for (const path of [
        '/api/health',
        '/api/jobs',
        '/api/poll',
        '/api/queues',
        '/api/tokens',
        '/api/users',
      ]) {
        const response = await api.request('GET', path);
        expect({ path, status: response.status }).toEqual({ path, status: 200 });
      }
      // Creating a token and its audit row is one interactive transaction: the WebSocket pool.
      const created = await api.request('POST', '/api/tokens', {
        name: 'needs a transaction',
        role: 'viewer',
      });
      expect(created.status).toBeGreaterThanOrEqual(500);
    } finally {
      await api.close();
      bundle.cleanup();
    }
  }, 120_000);
});
