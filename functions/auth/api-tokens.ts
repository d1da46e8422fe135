import { and, desc, eq, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { apiTokens } from '../../drizzle/schema';
import type { Actor, Role } from './actor';
import { base64UrlEncode, randomBytes, sha256Hex } from './crypto';
import { type CreatorRoles, creatorRole, lowerRole } from './token-creator';

/**
 * API tokens for automation: `wt_` + 32 random bytes (base64url). Only the SHA-256 of a token is
 * stored; the token itself is returned once, by `createApiToken`.
 */
export const TOKEN_PREFIX = 'wt_';
const TOKEN_BYTES = 32;
const DISPLAY_PREFIX_LENGTH = 10;
// last_used_at is for people ("is this token still used?"): minute precision is plenty, and it
// saves a write on nearly every request of a busy automation.
const LAST_USED_RESOLUTION_MS = 60_000;

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export function looksLikeApiToken(value: string): boolean {
  return value.startsWith(TOKEN_PREFIX) && /^[A-Za-z0-9_-]+$/.test(value) && value.length <= 128;
}

export async function createApiToken(
  db: StatementDatabase,
  input: { name: string; role: Role; expiresAt: Date | null; createdBy: Actor },
): Promise<{ token: string; row: ApiTokenRow }> {
  const token = TOKEN_PREFIX + base64UrlEncode(randomBytes(TOKEN_BYTES));
  const [row] = await db
    .insert(apiTokens)
    .values({
      name: input.name,
      role: input.role,
      tokenHash: await sha256Hex(token),
      prefix: token.slice(0, DISPLAY_PREFIX_LENGTH),
      createdBy: `${input.createdBy.kind}:${input.createdBy.id}`,
      createdByName: input.createdBy.name,
      expiresAt: input.expiresAt,
    })
    .returning();
  if (!row) throw new Error('inserting the API token returned no row');
  return { token, row };
}

/**
 * The actor for a presented token, or null when it is unknown, revoked, expired or its creator can
 * no longer grant anything (one answer for all: the caller learns nothing about which tokens
 * exist). Its role is the lower of the token's and what its creator has now.
 */
export async function authenticateApiToken(
  db: StatementDatabase,
  token: string,
  roles: CreatorRoles,
): Promise<Actor | null> {
  const [row] = await db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, await sha256Hex(token)))
    .limit(1);
  const now = Date.now();
  if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt.getTime() <= now))
    return null;
  const cap = await creatorRole(db, row.createdBy, roles, now);
  if (cap === null) return null;
  if (row.lastUsedAt === null || now - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    // Best effort: a failed bookkeeping write must not refuse a valid token.
    await db
      .update(apiTokens)
      .set({ lastUsedAt: sql`now()` })
      .where(eq(apiTokens.id, row.id))
      .catch((error: unknown) => {
        console.error(
          'watchtower: updating last_used_at failed:',
          error instanceof Error ? error.message : error,
        );
      });
  }
  return { kind: 'token', id: row.id, name: row.name, role: lowerRole(row.role, cap) };
}

export async function listApiTokens(
  db: StatementDatabase,
  options: { includeRevoked: boolean; before?: { createdAt: Date; id: string } | undefined; limit: number },
): Promise<ApiTokenRow[]> {
  const conditions: SQL[] = [];
  if (!options.includeRevoked) conditions.push(isNull(apiTokens.revokedAt));
  if (options.before) {
    const { createdAt, id } = options.before;
    const older = or(
      lt(apiTokens.createdAt, createdAt),
      and(eq(apiTokens.createdAt, createdAt), lt(apiTokens.id, id)),
    );
    if (older) conditions.push(older);
  }
  return db
    .select()
    .from(apiTokens)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
    .limit(options.limit);
}

export async function getApiToken(db: StatementDatabase, id: string): Promise<ApiTokenRow | null> {
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, id)).limit(1);
  return row ?? null;
}

/** Revokes once: the first revocation's time is kept. Null for an unknown id. */
export async function revokeApiToken(
  db: StatementDatabase,
  id: string,
): Promise<{ row: ApiTokenRow; changed: boolean } | null> {
  const [revoked] = await db
    .update(apiTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning();
  if (revoked) return { row: revoked, changed: true };
  const existing = await getApiToken(db, id);
  return existing ? { row: existing, changed: false } : null;
}
