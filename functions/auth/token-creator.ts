import { eq } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { apiTokens, users } from '../../drizzle/schema';
import { ROLES, type Role } from './actor';

/**
 * A token never has more power than the one who made it has now: each request looks its creator
 * up again. A deleted or disabled user, or a revoked or expired creating token, refuses the token;
 * a demoted creator caps its role. `createdBy` is `<actor kind>:<actor id>` as stored at creation.
 */

export interface CreatorRoles {
  /** The role an Access identity without a user has now (null: Access is no longer configured). */
  accessRole: Role | null;
  /** The role an Access service token has now (null: Access is no longer configured). */
  accessServiceRole: Role | null;
}

// A token made by a token made by a token...: each link is one lookup, so the chain is bounded.
const MAX_CHAIN = 5;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function lowerRole(a: Role, b: Role): Role {
  return ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b;
}

/** The most the creator may grant now, or null when the creator can grant nothing any more. */
export async function creatorRole(
  db: StatementDatabase,
  createdBy: string,
  roles: CreatorRoles,
  now = Date.now(),
  depth = 0,
): Promise<Role | null> {
  const colon = createdBy.indexOf(':');
  const kind = colon < 0 ? createdBy : createdBy.slice(0, colon);
  const id = colon < 0 ? '' : createdBy.slice(colon + 1);
  switch (kind) {
    // The bootstrap token is the deployment's owner: whoever holds it holds everything.
    case 'bootstrap':
      return 'admin';
    case 'session':
    case 'access': {
      if (kind === 'access' && id.startsWith('access-service:')) return roles.accessServiceRole;
      if (kind === 'access' && id.startsWith('access:')) return roles.accessRole;
      if (!UUID.test(id)) return null;
      const [user] = await db
        .select({ role: users.role, disabled: users.disabled })
        .from(users)
        .where(eq(users.id, id))
        .limit(1);
      return user && !user.disabled ? user.role : null;
    }
    case 'token': {
      if (!UUID.test(id) || depth >= MAX_CHAIN) return null;
      const [token] = await db
        .select({
          role: apiTokens.role,
          createdBy: apiTokens.createdBy,
          revokedAt: apiTokens.revokedAt,
          expiresAt: apiTokens.expiresAt,
        })
        .from(apiTokens)
        .where(eq(apiTokens.id, id))
        .limit(1);
      if (!token || token.revokedAt !== null) return null;
      if (token.expiresAt !== null && token.expiresAt.getTime() <= now) return null;
      const above = await creatorRole(db, token.createdBy, roles, now, depth + 1);
      return above === null ? null : lowerRole(token.role, above);
    }
    default:
      return null;
  }
}
