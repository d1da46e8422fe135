import type { Context } from 'hono';
import { clientIp, recordAudit } from '../audit';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import type { Actor } from './actor';
import { clearLoginAttempts, countLoginAttempt, loginKeys, tooManyAttempts } from './login-rate-limit';
import { hashPassword, spendPasswordTime, verifyPassword } from './passwords';
import { createSession } from './sessions';
import { anyUserExists, createUser, findUserByEmail, recordLogin, type UserRow } from './users';

export interface LoginResult {
  user: UserRow;
  cookieValue: string;
  expiresAt: Date;
}

/**
 * Email and password to a new session. The attempt is counted before anything else (see
 * login-rate-limit.ts): one past a limit gets 429 without a password hash being computed, and only
 * the first such refusal of a window writes an audit row. Every other failure answers the same 401
 * whatever went wrong (no such user, wrong password, disabled, no password), takes the same time
 * and is audited with the real reason.
 */
export async function login(
  c: Context<AppEnv>,
  input: { email: string; password: string },
): Promise<LoginResult> {
  const db = c.get('services').db;
  const email = input.email.toLowerCase();
  const ip = clientIp(c);
  const keys = await loginKeys(ip, email);
  const throttled = await countLoginAttempt(db, keys);
  if (throttled) {
    if (throttled.firstRefusal) {
      await recordAudit(
        c,
        {
          action: 'auth.login',
          targetType: 'user',
          result: 'error',
          details: {
            email,
            reason: 'rate limited',
            limits: throttled.over,
            note: 'further refusals in this 15-minute window are not written',
          },
        },
        { actor: null },
      );
    }
    throw tooManyAttempts('Too many login attempts', throttled.retryAfterSeconds);
  }
  await ensureBootstrapAdmin(c, email);

  const user = await findUserByEmail(db, email);
  let failure: string | null = null;
  if (!user || user.passwordHash === null) {
    await spendPasswordTime(input.password);
    failure = user ? 'no password set' : 'unknown email';
  } else if (!(await verifyPassword(input.password, user.passwordHash))) {
    failure = 'wrong password';
  } else if (user.disabled) {
    failure = 'user disabled';
  }

  if (failure !== null || !user) {
    await recordAudit(
      c,
      {
        action: 'auth.login',
        targetType: 'user',
        targetId: user?.id,
        result: 'error',
        details: { email, reason: failure },
      },
      { actor: null },
    );
    throw new HttpError(401, 'unauthorized', 'Wrong email or password');
  }

  const session = await createSession(db, {
    userId: user.id,
    ip,
    userAgent: c.req.header('user-agent') ?? null,
  });
  await Promise.all([recordLogin(db, user.id), clearLoginAttempts(db, keys)]);
  const actor: Actor = { kind: 'session', id: user.id, name: user.email, role: user.role };
  await recordAudit(
    c,
    { action: 'auth.login', targetType: 'user', targetId: user.id, result: 'ok' },
    { actor },
  );
  return { user, cookieValue: session.cookieValue, expiresAt: session.expiresAt };
}

/**
 * WATCHTOWER_ADMIN_EMAIL and WATCHTOWER_ADMIN_PASSWORD create the first admin user, on the first
 * login with that email while no user exists. Concurrent first logins are safe: the insert ignores
 * a conflict on the email.
 */
async function ensureBootstrapAdmin(c: Context<AppEnv>, email: string): Promise<void> {
  const adminEmail = c.env.WATCHTOWER_ADMIN_EMAIL?.trim().toLowerCase();
  const adminPassword = c.env.WATCHTOWER_ADMIN_PASSWORD;
  if (!adminEmail || !adminPassword || email !== adminEmail) return;
  const db = c.get('services').db;
  if (await anyUserExists(db)) return;
  try {
    const passwordHash = await hashPassword(adminPassword);
    const user = await createUser(db, {
      email: adminEmail,
      name: 'Administrator',
      role: 'admin',
      passwordHash,
    });
    await recordAudit(
      c,
      {
        action: 'users.create',
        targetType: 'user',
        targetId: user.id,
        result: 'ok',
        details: { email: user.email, role: 'admin', bootstrap: true },
      },
      { actor: { kind: 'bootstrap', id: 'bootstrap', name: 'WATCHTOWER_ADMIN_EMAIL', role: 'admin' } },
    );
  } catch (error) {
    // Another request created it first: nothing to do.
    if (!(error instanceof HttpError && error.code === 'conflict')) throw error;
  }
}
