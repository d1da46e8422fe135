/**
 * LOCAL DEVELOPMENT TOOLING: the admin `npm start` prints a sign-in for.
 *
 * The Worker creates WATCHTOWER_ADMIN_EMAIL's user only on the first login while no user exists,
 * so on a local database that already has users (an earlier `npm start`) those variables did
 * nothing and the sign-in got 401. Locally the account is therefore written straight into the
 * database on every start: created if missing, else given this password, the admin role and
 * enabled again. Never used in production, where the database belongs to its operators.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { hashPassword } from '../../functions/auth/passwords';

export const DEMO_ADMIN_EMAIL = 'admin@watchtower.local';

export interface DevAdmin {
  email: string;
  password: string;
  /** True when the password was generated here (print it); false when it came from the environment. */
  generated: boolean;
}

/** WATCHTOWER_ADMIN_EMAIL and WATCHTOWER_ADMIN_PASSWORD when both are set, else the demo admin. */
export function devAdminFromEnv(env: NodeJS.ProcessEnv): DevAdmin {
  const email = env.WATCHTOWER_ADMIN_EMAIL?.trim().toLowerCase();
  const password = env.WATCHTOWER_ADMIN_PASSWORD;
  if (email && password) return { email, password, generated: false };
  if (email || password) {
    throw new Error(
      'Set both WATCHTOWER_ADMIN_EMAIL and WATCHTOWER_ADMIN_PASSWORD, or neither (for a demo admin)',
    );
  }
  return { email: DEMO_ADMIN_EMAIL, password: randomBytes(12).toString('base64url'), generated: true };
}

export async function ensureDevAdmin(databaseUrl: string, admin: DevAdmin): Promise<void> {
  const passwordHash = await hashPassword(admin.password);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `insert into watchtower_users (email, name, role, password_hash)
       values ($1, 'Administrator', 'admin', $2)
       on conflict (email) do update
         set password_hash = excluded.password_hash, role = 'admin', disabled = false, updated_at = now()`,
      [admin.email, passwordHash],
    );
  } finally {
    await client.end();
  }
}
