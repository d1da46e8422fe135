import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { sessions, users } from '../../drizzle/schema';
import type { Actor } from './actor';
import { base64UrlEncode, randomBytes, sha256Hex } from './crypto';

/**
 * Browser sessions. The cookie holds 32 random bytes; the database holds their SHA-256 as the
 * session id. The role is read from the user on every request, so a role change or a disabled
 * account takes effect at once.
 */
export const SESSION_COOKIE = 'wt_session';
/**
 * Over https the cookie is `__Host-wt_session`: the browser then accepts it only from this exact
 * host, Secure, with Path=/ and no Domain, so a neighbouring subdomain cannot plant or shadow it
 * (session fixation). Over plain http (local development) a browser refuses the prefix, and the
 * plain name is the only one read. A request reads only the name of its own scheme.
 */
export function sessionCookiePrefix(requestUrl: string): 'host' | undefined {
  return new URL(requestUrl).protocol === 'https:' ? 'host' : undefined;
}
/** Absolute lifetime: a working day and a half, then log in again. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
const SESSION_BYTES = 32;
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export async function createSession(
  db: StatementDatabase,
  input: { userId: string; ip: string | null; userAgent: string | null },
): Promise<{ cookieValue: string; sessionId: string; expiresAt: Date }> {
  const cookieValue = base64UrlEncode(randomBytes(SESSION_BYTES));
  const sessionId = await sha256Hex(cookieValue);
  const expiresAt = new Date(Date.now() + SESSION_TTL_SECONDS * 1000);
  await db.insert(sessions).values({
    id: sessionId,
    userId: input.userId,
    expiresAt,
    ip: input.ip,
    userAgent: input.userAgent?.slice(0, 512) ?? null,
  });
  return { cookieValue, sessionId, expiresAt };
}

/** The session's user as an actor, or null when the session is unknown, revoked, expired or its user disabled. */
export async function authenticateSession(
  db: StatementDatabase,
  cookieValue: string,
): Promise<{ actor: Actor; sessionId: string } | null> {
  if (!COOKIE_VALUE.test(cookieValue)) return null;
  const sessionId = await sha256Hex(cookieValue);
  const [row] = await db
    .select({ userId: users.id, email: users.email, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sessionId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`now()`),
        eq(users.disabled, false),
      ),
    )
    .limit(1);
  if (!row) return null;
  return { actor: { kind: 'session', id: row.userId, name: row.email, role: row.role }, sessionId };
}

export async function revokeSession(db: StatementDatabase, sessionId: string): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** After a password change or disabling: every other session of the user ends. */
export async function revokeUserSessions(
  db: StatementDatabase,
  userId: string,
  exceptSessionId?: string,
): Promise<void> {
  const conditions = [eq(sessions.userId, userId), isNull(sessions.revokedAt)];
  if (exceptSessionId !== undefined) conditions.push(ne(sessions.id, exceptSessionId));
  await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(...conditions));
}
