import { asc, eq, gt, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { users } from '../../drizzle/schema';
import { HttpError } from '../http-error';
import type { Role } from './actor';

export type UserRow = typeof users.$inferSelect;

export async function listUsers(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<UserRow[]> {
  return db
    .select()
    .from(users)
    .where(options.after !== undefined ? gt(users.email, options.after) : undefined)
    .orderBy(asc(users.email))
    .limit(options.limit);
}

export async function getUser(db: StatementDatabase, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row ?? null;
}

export async function findUserByEmail(db: StatementDatabase, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email.toLowerCase())).limit(1);
  return row ?? null;
}

export async function anyUserExists(db: StatementDatabase): Promise<boolean> {
  const [row] = await db.select({ one: sql<number>`1` }).from(users).limit(1);
  return row !== undefined;
}

/**
 * 409 `conflict` when the email is taken. `passwordHash` (from `hashPassword`, computed before any
 * transaction: it takes a while) null: a user who signs in only through Access.
 */
export async function createUser(
  db: StatementDatabase,
  input: { email: string; name: string; role: Role; passwordHash: string | null },
): Promise<UserRow> {
  const [row] = await db
    .insert(users)
    .values({
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      passwordHash: input.passwordHash,
    })
    .onConflictDoNothing({ target: users.email })
    .returning();
  if (!row) throw new HttpError(409, 'conflict', 'A user with this email already exists');
  return row;
}

export interface UserPatch {
  name?: string | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
  passwordHash?: string | undefined;
}

/** Null for an unknown id. */
export async function updateUser(
  db: StatementDatabase,
  id: string,
  patch: UserPatch,
): Promise<UserRow | null> {
  const [row] = await db
    .update(users)
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.role !== undefined && { role: patch.role }),
      ...(patch.disabled !== undefined && { disabled: patch.disabled }),
      ...(patch.passwordHash !== undefined && { passwordHash: patch.passwordHash }),
      updatedAt: sql`now()`,
    })
    .where(eq(users.id, id))
    .returning();
  return row ?? null;
}

/** Null for an unknown id. Sessions go with the user (on delete cascade). */
export async function deleteUser(db: StatementDatabase, id: string): Promise<UserRow | null> {
  const [row] = await db.delete(users).where(eq(users.id, id)).returning();
  return row ?? null;
}

export async function recordLogin(db: StatementDatabase, id: string): Promise<void> {
  await db.update(users).set({ lastLoginAt: sql`now()` }).where(eq(users.id, id));
}
