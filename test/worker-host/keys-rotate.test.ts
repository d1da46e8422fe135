import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import {
  type KeyRing,
  loadKeyRing,
  openSecret,
  sealedKeyId,
  sealSecret,
} from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import { migrateDatabase } from '../../drizzle/migrate';
import { connections } from '../../drizzle/schema';
import { ensureDatabase } from '../../scripts/local-only/services';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';
import { cliEnv, runCli, uniqueName } from './harness';

function randomKey(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
}

async function ringOf(current: string, previous?: string): Promise<KeyRing> {
  const ring = await loadKeyRing({ current, previous });
  if (!ring) throw new Error('no key ring');
  return ring;
}

/**
 * `watchtower keys rotate` re-seals every connection of a database: it runs against a database of
 * its own, so that it never meets other tests' connections.
 */
describe('watchtower keys rotate', () => {
  const name = `watchtower_keys_${uniqueName('t').replace(/-/g, '_')}`;
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  let database: ReturnType<typeof createNodeDatabase>;

  beforeAll(async () => {
    await ensureDatabase(databaseUrl);
    await migrateDatabase(databaseUrl);
    database = createNodeDatabase(databaseUrl, { max: 2 });
  });

  afterAll(async () => {
    await database?.close();
    const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end();
  });

  /** A connection row with its secret sealed by `ring`, as the API would have written it. */
  async function insert(ring: KeyRing, index: number, kind: 'redis' | 'postgres') {
    const id = crypto.randomUUID();
    const field = kind === 'postgres' ? 'url' : 'password';
    const value = kind === 'postgres' ? `postgres://u:cli-secret-${index}@h/db` : `cli-secret-${index}`;
    const sealed = await sealSecret(ring, value, connectionSecretContext(id, field));
    await database.db.insert(connections).values({
      id,
      name: `rotate-${index}-${id.slice(0, 8)}`,
      kind,
      host: kind === 'redis' ? 'h' : null,
      passwordSealed: field === 'password' ? sealed : null,
      urlSealed: field === 'url' ? sealed : null,
      createdBy: 'test:cli',
      updatedBy: 'test:cli',
    });
    return { id, field, value } as const;
  }

  /** Every row as Postgres holds it, as text: what a leaked dump would show. */
  async function dumpRows(): Promise<string> {
    const rows = rowsOf<{ dump: string | null }>(
      await database.db.execute(
        sql`select string_agg(row_to_json(c)::text, ',' order by id) as dump from watchtower_connections c`,
      ),
    );
    return rows[0]?.dump ?? '';
  }

  async function sealedOf(id: string, field: 'password' | 'url'): Promise<string> {
    const rows = rowsOf<{ password_sealed: string | null; url_sealed: string | null }>(
      await database.db.execute(
        sql`select password_sealed, url_sealed from watchtower_connections where id = ${id}`,
      ),
    );
    return (field === 'password' ? rows[0]?.password_sealed : rows[0]?.url_sealed) ?? '';
  }

  it('re-seals every row sealed with the previous key, in batches; afterwards the new key alone opens them all', async () => {
    const keyA = randomKey();
    const keyB = randomKey();
    const a = await ringOf(keyA);
    const b = await ringOf(keyB);
    // Five rows sealed with A (more than a batch of 2), one already with B, one without a secret.
    const rows = [];
    for (let index = 0; index < 5; index++)
      rows.push(await insert(a, index, index % 2 ? 'postgres' : 'redis'));
    const alreadyB = await insert(b, 5, 'redis');
    const alreadyBSealed = await sealedOf(alreadyB.id, 'password');
    await database.db.insert(connections).values({
      id: crypto.randomUUID(),
      name: 'no-secret',
      kind: 'redis',
      host: 'h',
      createdBy: 'test:cli',
      updatedBy: 'test:cli',
    });

    const env = cliEnv({
      DATABASE_URL: databaseUrl,
      WATCHTOWER_ENCRYPTION_KEY: keyB,
      WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: keyA,
    });
    const first = await runCli(['keys', 'rotate', '--batch=2'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      `Re-sealed 5 connection(s) with key ${b.current.id} (previous key ${a.current.id})`,
    );
    expect(first.stdout).toContain('WATCHTOWER_ENCRYPTION_KEY_PREVIOUS can be removed');
    for (const row of rows) expect(first.stdout + first.stderr).not.toContain(row.value);

    for (const row of [...rows, alreadyB]) {
      const sealed = await sealedOf(row.id, row.field);
      expect(sealedKeyId(sealed)).toBe(b.current.id);
      // B alone: A is no longer needed.
      expect(await openSecret(b, sealed, connectionSecretContext(row.id, row.field))).toBe(row.value);
    }
    expect(await sealedOf(alreadyB.id, 'password')).toBe(alreadyBSealed);
    const dump = rowsOf<{ dump: string }>(
      await database.db.execute(
        sql`select string_agg(row_to_json(c)::text, ',') as dump from watchtower_connections c`,
      ),
    )[0]?.dump;
    for (const row of rows) expect(dump).not.toContain(row.value);

    // Idempotent: a second run finds nothing and changes nothing.
    const before = await Promise.all(rows.map((row) => sealedOf(row.id, row.field)));
    const second = await runCli(['keys', 'rotate'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Re-sealed 0 connection(s)');
    expect(await Promise.all(rows.map((row) => sealedOf(row.id, row.field)))).toEqual(before);

    // A row sealed with a key that is neither: counted, left as it is, exit 1.
    const stray = await insert(await ringOf(randomKey()), 6, 'redis');
    const strayBefore = await sealedOf(stray.id, 'password');
    const third = await runCli(['keys', 'rotate'], { env });
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('1 connection(s) are sealed with a key that is neither');
    expect(await sealedOf(stray.id, 'password')).toBe(strayBefore);
  }, 60_000);

  it('refuses missing or malformed keys with a message naming the variable, changing nothing', async () => {
    const key = randomKey();
    const cases: [Record<string, string>, string][] = [
      [{ WATCHTOWER_ENCRYPTION_KEY: key }, 'WATCHTOWER_ENCRYPTION_KEY_PREVIOUS is not set'],
      [{ WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: key }, 'WATCHTOWER_ENCRYPTION_KEY is not'],
      [
        { WATCHTOWER_ENCRYPTION_KEY: 'c2hvcnQ=', WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: key },
        'WATCHTOWER_ENCRYPTION_KEY must be the base64 of 32 random bytes',
      ],
    ];
    const dumpBefore = await dumpRows();
    // At once: each run is a Node start, the slow part on two cores.
    const results = await Promise.all(
      cases.map(([keys]) => {
        const env = cliEnv({ DATABASE_URL: databaseUrl });
        delete env.WATCHTOWER_ENCRYPTION_KEY;
        delete env.WATCHTOWER_ENCRYPTION_KEY_PREVIOUS;
        return runCli(['keys', 'rotate'], { env: { ...env, ...keys }, timeoutMs: 40_000 });
      }),
    );
    for (const [index, result] of results.entries()) {
      const [keys, message] = cases[index] ?? [{}, ''];
      expect(result.code, JSON.stringify(keys)).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain('c2hvcnQ=');
    }
    expect(await dumpRows()).toBe(dumpBefore);
    const help = await runCli(['keys', '--help'], { env: cliEnv({ DATABASE_URL: databaseUrl }) });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: watchtower keys rotate');
  }, 60_000);
});
