import { randomBytes } from 'node:crypto';
import { neonConfig, Pool } from '@neondatabase/serverless';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-serverless';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type NeonRelay, startNeonRelay } from '../../scripts/local-only/neon-relay';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const tableName = `local_stack_probe_${randomBytes(6).toString('hex')}`;
const probes = pgTable(tableName, { id: integer('id').primaryKey(), label: text('label').notNull() });

let relay: NeonRelay;
let pool: Pool;

beforeAll(async () => {
  relay = await startNeonRelay({ port: 0 });
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${relay.port}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  neonConfig.webSocketConstructor = WebSocket;
  pool = new Pool({ connectionString: DATABASE_URL, max: 4 });
  await pool.query(`CREATE TABLE ${tableName} (id integer PRIMARY KEY, label text NOT NULL)`);
});

afterAll(async () => {
  await pool?.query(`DROP TABLE IF EXISTS ${tableName}`);
  await pool?.end();
  await relay?.close();
});

describe('neon relay', () => {
  it('runs a parameterised query through a Pool', async () => {
    const { rows } = await pool.query('SELECT $1::int + $2::int AS sum, $3::text AS word', [
      40,
      2,
      'héllo ✓',
    ]);
    expect(rows).toEqual([{ sum: 42, word: 'héllo ✓' }]);
  });

  it('carries payloads much larger than one frame both ways', async () => {
    const { rows } = await pool.query('SELECT repeat($1, 2000000) AS big', ['x']);
    expect(rows[0].big).toHaveLength(2_000_000);
    const upload = await pool.query('SELECT length($1::text) AS n', ['y'.repeat(3_000_000)]);
    expect(upload.rows[0].n).toBe(3_000_000);
  });

  it('keeps an interactive transaction on one connection and rolls it back', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${tableName} (id, label) VALUES ($1, $2)`, [1, 'rolled back']);
      const inside = await client.query(`SELECT count(*)::int AS n FROM ${tableName}`);
      expect(inside.rows[0].n).toBe(1);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const after = await pool.query(`SELECT count(*)::int AS n FROM ${tableName}`);
    expect(after.rows[0].n).toBe(0);
  });

  it('serves drizzle-orm/neon-serverless', async () => {
    const db = drizzle({ client: pool });
    await db.insert(probes).values([
      { id: 10, label: 'ten' },
      { id: 11, label: 'eleven' },
    ]);
    expect(await db.select().from(probes).where(eq(probes.id, 11))).toEqual([{ id: 11, label: 'eleven' }]);
    const committed = await db.transaction(async (tx) => {
      await tx.update(probes).set({ label: 'TEN' }).where(eq(probes.id, 10));
      return tx.execute(sql`SELECT label FROM ${probes} WHERE id = 10`);
    });
    expect(committed.rows).toEqual([{ label: 'TEN' }]);
  });

  it('closes the WebSocket when Postgres drops the connection', async () => {
    const victim = await pool.connect();
    victim.on('error', () => {});
    const { rows } = await victim.query('SELECT pg_backend_pid() AS pid');
    await pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await expect(victim.query('SELECT 1')).rejects.toBeDefined();
    victim.release(true);
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('survives clients that send garbage or vanish mid-handshake', async () => {
    const rude = new WebSocket(`ws://127.0.0.1:${relay.port}/v1?address=127.0.0.1:5432`);
    await new Promise((resolve, reject) => {
      rude.once('open', resolve);
      rude.once('error', reject);
    });
    rude.send(Buffer.from('not the postgres protocol'));
    rude.terminate();
    const vanishing = new WebSocket(`ws://127.0.0.1:${relay.port}/v1?address=127.0.0.1:5432`);
    vanishing.on('error', () => {});
    vanishing.terminate();
    expect((await pool.query('SELECT 2 AS ok')).rows).toEqual([{ ok: 2 }]);
  });

  it('refuses a non-loopback address over the driver', async () => {
    const remote = new Pool({ connectionString: 'postgres://postgres@10.255.255.1:5432/postgres' });
    remote.on('error', () => {});
    // The driver rejects with the WebSocket's ErrorEvent, not an Error: match on its message.
    await expect(remote.query('SELECT 1')).rejects.toMatchObject({
      message: 'Unexpected server response: 403',
    });
    await remote.end().catch(() => {});
  });

  it('answers a non-loopback address with 403 before any byte is relayed', async () => {
    for (const address of ['10.0.0.1:5432', 'example.com:5432', '[2001:db8::1]:5432']) {
      const status = await upgradeStatus(`ws://127.0.0.1:${relay.port}/v1?address=${address}`);
      expect(status, address).toBe(403);
    }
    expect(await upgradeStatus(`ws://127.0.0.1:${relay.port}/v2?address=127.0.0.1:5432`)).toBe(404);
  });

  it('answers 502 when the loopback port is closed', async () => {
    expect(await upgradeStatus(`ws://127.0.0.1:${relay.port}/v1?address=127.0.0.1:1`)).toBe(502);
  });
});

/** The HTTP status of a refused upgrade, or 101 when the relay accepted it. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', (error) => reject(error));
  });
}
