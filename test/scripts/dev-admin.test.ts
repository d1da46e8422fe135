import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../functions/auth/passwords';
import { DEMO_ADMIN_EMAIL, devAdminFromEnv, ensureDevAdmin } from '../../scripts/local-only/dev-admin';
import { testEnv } from '../setup/test-env';

const client = new pg.Client({ connectionString: testEnv.databaseUrl });
const connected = client.connect();

afterAll(async () => {
  await client.end();
});

async function userRow(email: string) {
  await connected;
  const { rows } = await client.query<{ role: string; disabled: boolean; password_hash: string }>(
    'select role, disabled, password_hash from watchtower_users where email = $1',
    [email],
  );
  return rows[0];
}

describe("npm start's admin", () => {
  it('is a demo admin with a generated password when neither variable is set', () => {
    const first = devAdminFromEnv({});
    const second = devAdminFromEnv({});
    expect(first).toMatchObject({ email: DEMO_ADMIN_EMAIL, generated: true });
    expect(first.password.length).toBeGreaterThanOrEqual(16);
    expect(second.password).not.toBe(first.password);
  });

  it('is the configured one when both variables are set, and refuses only one of them', () => {
    expect(
      devAdminFromEnv({
        WATCHTOWER_ADMIN_EMAIL: ' Me@Example.test ',
        WATCHTOWER_ADMIN_PASSWORD: 'secret pass',
      }),
    ).toEqual({ email: 'me@example.test', password: 'secret pass', generated: false });
    expect(() => devAdminFromEnv({ WATCHTOWER_ADMIN_EMAIL: 'me@example.test' })).toThrow(/both/);
    expect(() => devAdminFromEnv({ WATCHTOWER_ADMIN_PASSWORD: 'x' })).toThrow(/both/);
  });

  it('is written into the database on every start: created, then given the new password, enabled and admin again', async () => {
    const email = `dev-admin-${process.pid}-${Date.now()}@example.test`;
    await ensureDevAdmin(testEnv.databaseUrl, { email, password: 'first password', generated: false });
    const created = await userRow(email);
    expect(created).toMatchObject({ role: 'admin', disabled: false });
    expect(await verifyPassword('first password', created?.password_hash ?? '')).toBe(true);

    await client.query("update watchtower_users set role = 'viewer', disabled = true where email = $1", [
      email,
    ]);
    await ensureDevAdmin(testEnv.databaseUrl, { email, password: 'second password', generated: true });
    const updated = await userRow(email);
    expect(updated).toMatchObject({ role: 'admin', disabled: false });
    expect(await verifyPassword('second password', updated?.password_hash ?? '')).toBe(true);
    expect(await verifyPassword('first password', updated?.password_hash ?? '')).toBe(false);
    await client.query('delete from watchtower_users where email = $1', [email]);
  });
});
