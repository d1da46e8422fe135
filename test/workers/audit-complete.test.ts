import { env } from 'cloudflare:workers';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { auditLog, commands, sessions } from '../../drizzle/schema';
import { pruneAudit } from '../../functions/housekeeping/prune-audit';
import { HOUSEKEEPING_STEPS } from '../../functions/housekeeping/run-housekeeping';
import {
  adminHeaders,
  bearer,
  call,
  createToken,
  createUser,
  login,
  ORIGIN,
  randomIp,
  unique,
} from './support/api';
import { openTestDatabase } from './support/database';
import { type Fleet, Seed, seedFleet } from './support/seed';

let database: NeonDatabaseHandle;
let seed: Seed;
let fleet: Fleet;

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  fleet = await seedFleet(seed, 'audit');
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function auditRows(action: string, actorId: string) {
  return database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.actorId, actorId)));
}

async function commandsFor(workerId: string) {
  return database.db
    .select({ id: commands.id })
    .from(commands)
    .where(and(eq(commands.targetKind, 'worker'), eq(commands.targetId, workerId)));
}

/** A trigger that makes the audit log refuse one statement kind for one target: the fault. */
async function withAuditFault<T>(
  timing: 'insert' | 'update',
  targetId: string,
  body: () => Promise<T>,
): Promise<T> {
  const name = `audit_fault_${crypto.randomUUID().replaceAll('-', '')}`;
  await database.db.execute(
    sql.raw(`create function ${name}() returns trigger language plpgsql as $$
      begin
        if new.target_id = '${targetId.replaceAll("'", "''")}' then
          raise exception 'audit log refused (test fault)';
        end if;
        return new;
      end $$`),
  );
  await database.db.execute(
    sql.raw(
      `create trigger ${name} before ${timing} on watchtower_audit_log for each row execute function ${name}()`,
    ),
  );
  try {
    return await body();
  } finally {
    await database.db.execute(sql.raw(`drop trigger ${name} on watchtower_audit_log`));
    await database.db.execute(sql.raw(`drop function ${name}()`));
  }
}

describe('refusals are audited', () => {
  it('writes a row for a role too low', async () => {
    const viewer = await createToken('viewer');
    const response = await call('/api/users', { headers: bearer(viewer.token) });
    expect(response.status).toBe(403);
    const rows = await auditRows('auth.forbidden', viewer.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorKind: 'token',
      result: 'error',
      details: { reason: 'role too low', needed: 'admin', had: 'viewer' },
    });
  });

  it('writes a row for a cross-site write with a session cookie', async () => {
    const admin = await createUser('admin');
    const cookie = await login(admin.email, admin.password);
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
      json: { name: unique('csrf'), role: 'admin' },
    });
    expect(response.status).toBe(403);
    const rows = await auditRows('auth.csrf', admin.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorKind: 'session',
      result: 'error',
      details: { origin: 'https://evil.example' },
    });
    // The same write from this site is not refused and not counted as a refusal.
    const ours = await call('/api/tokens', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      json: { name: unique('ours'), role: 'viewer' },
    });
    expect(ours.status).toBe(201);
    expect(await auditRows('auth.csrf', admin.id)).toHaveLength(1);
  });
});

describe('cross-site logins', () => {
  it('are audited once per address and window, however many arrive', async () => {
    const user = await createUser('viewer');
    const ip = randomIp();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const response = await call('/api/auth/login', {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'cf-connecting-ip': ip },
        json: { email: user.email, password: user.password },
      });
      expect(response.status).toBe(403);
    }
    const rows = await database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'auth.csrf'), eq(auditLog.ip, ip)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorKind: 'anonymous',
      targetId: 'POST /api/auth/login',
      details: { reason: 'cross-site login', origin: 'https://evil.example' },
    });
  });
});

describe('client-chosen text', () => {
  it('is stored bounded: the user agent of a session and of its audit row', async () => {
    const user = await createUser('viewer');
    const userAgent = `agent-${'x'.repeat(4000)}`;
    const response = await call('/api/auth/login', {
      method: 'POST',
      headers: { origin: ORIGIN, 'cf-connecting-ip': randomIp(), 'user-agent': userAgent },
      json: { email: user.email, password: user.password },
    });
    expect(response.status).toBe(200);
    const [session] = await database.db
      .select({ userAgent: sessions.userAgent })
      .from(sessions)
      .where(eq(sessions.userId, user.id));
    expect(session?.userAgent).toBe(userAgent.slice(0, 512));
    const [row] = await auditRows('auth.login', user.id);
    expect(row?.userAgent).toBe(userAgent.slice(0, 512));
  });
});

describe('a command and its audit row', () => {
  it('sends nothing when the audit row cannot be written, so a retry does not duplicate it', async () => {
    const failed = await withAuditFault('insert', fleet.running, () =>
      call(`/api/workers/${fleet.running}/stop`, { method: 'POST', headers: adminHeaders() }),
    );
    expect(failed.status).toBe(500);
    expect(await commandsFor(fleet.running)).toEqual([]);

    const retried = await call(`/api/workers/${fleet.running}/stop`, {
      method: 'POST',
      headers: adminHeaders(),
    });
    expect(retried.status).toBe(202);
    const sent = await commandsFor(fleet.running);
    expect(sent).toHaveLength(1);
    const audited = rowsOf<{ result: string; command_id: string | null }>(
      await database.db.execute(
        sql`select result, command_id from watchtower_audit_log where action = 'workers.stop' and target_id = ${fleet.running}`,
      ),
    );
    expect(audited).toEqual([{ result: 'accepted', command_id: sent[0]?.id }]);
  });

  it('answers 202 for a sent command even when its audit row cannot be updated', async () => {
    const response = await withAuditFault('update', fleet.paused, () =>
      call(`/api/workers/${fleet.paused}/resume`, { method: 'POST', headers: adminHeaders() }),
    );
    expect(response.status).toBe(202);
    expect(await commandsFor(fleet.paused)).toHaveLength(1);
  });
});

describe('audit retention', () => {
  it('is a housekeeping step that deletes rows older than WATCHTOWER_RETENTION_AUDIT_DAYS (365)', async () => {
    expect(HOUSEKEEPING_STEPS).toContain(pruneAudit);
    const action = unique('retention.test');
    const day = 86_400_000;
    await database.db.insert(auditLog).values(
      [400, 300, 10].map((days) => ({
        at: new Date(Date.now() - days * day),
        actorKind: 'anonymous',
        actorId: '',
        action,
        targetType: 'test',
        targetId: String(days),
        result: 'ok' as const,
      })),
    );
    const left = async () =>
      (
        await database.db
          .select({ targetId: auditLog.targetId })
          .from(auditLog)
          .where(eq(auditLog.action, action))
      )
        .map((row) => row.targetId)
        .sort();
    const context = { db: database.db, bus: new DatabaseCommandBus(database.db), env };
    await pruneAudit.run(context);
    expect(await left()).toEqual(['10', '300']);
    await pruneAudit.run({ ...context, env: { ...env, WATCHTOWER_RETENTION_AUDIT_DAYS: '100' } });
    expect(await left()).toEqual(['10']);
    await pruneAudit.run({ ...context, env: { ...env, WATCHTOWER_RETENTION_AUDIT_DAYS: '0' } });
    expect(await left()).toEqual(['10']);
  });
});
