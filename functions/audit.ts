import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Context } from 'hono';
import type { StatementDatabase } from '../core/db/database';
import { auditLog } from '../drizzle/schema';
import type { Actor } from './auth/actor';
import type { AppEnv } from './env';

export type AuditResult = 'ok' | 'error' | 'accepted';

export interface AuditEntry {
  /** `<resource>.<verb>`, e.g. `users.create`, `tokens.revoke`, `workers.stop`, `jobs.retry`. */
  action: string;
  /** What kind of thing was changed: `user`, `token`, `worker`, `queue`, `job`, ... */
  targetType: string;
  targetId?: string | undefined;
  /** `ok`: done. `accepted`: a command was sent (see `commandId`). `error`: tried and failed. */
  result: AuditResult;
  /** What a reader needs to understand the change (never secrets: no passwords, no tokens). */
  details?: unknown;
  commandId?: string | undefined;
}

export interface RecordAuditOptions {
  /** The transaction that made the change, so the change and its audit row commit together. */
  db?: StatementDatabase;
  /**
   * Who did it, when it is not `c.get('actor')`: the user who just logged in, or `null` for
   * someone not (yet) authenticated (a failed login).
   */
  actor?: Actor | null;
}

const MAX_USER_AGENT = 512;

/**
 * Writes one row to the audit log: who (the request's actor), what, which target, when, with what
 * result, from which ip and user agent. Call it in every route that changes something, ideally in
 * the transaction of the change; it throws if the row cannot be written.
 */
export async function recordAudit(
  c: Context<AppEnv>,
  entry: AuditEntry,
  options: RecordAuditOptions = {},
): Promise<number> {
  // Public routes (the login) run without an actor: `get` answers undefined there despite the type.
  const actor = options.actor === undefined ? (c.get('actor') as Actor | undefined) : options.actor;
  const db = options.db ?? c.get('services').db;
  const [row] = await db
    .insert(auditLog)
    .values({
      actorKind: actor?.kind ?? 'anonymous',
      actorId: actor?.id ?? '',
      actorName: actor?.name ?? '',
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      result: entry.result,
      commandId: entry.commandId ?? null,
      details: entry.details ?? null,
      ip: clientIp(c),
      userAgent: c.req.header('user-agent')?.slice(0, MAX_USER_AGENT) ?? null,
    })
    .returning({ id: auditLog.id });
  if (!row) throw new Error('inserting the audit row returned no row');
  return row.id;
}

/** Sets the outcome of a row written before the action it records (see sendCommand). */
export async function updateAuditOutcome(
  db: StatementDatabase,
  id: number,
  outcome: { result: AuditResult; commandId?: string | undefined; details: unknown },
): Promise<void> {
  await db
    .update(auditLog)
    .set({ result: outcome.result, commandId: outcome.commandId ?? null, details: outcome.details })
    .where(eq(auditLog.id, id));
}

/**
 * For refusals (403s): the row is written, but a failure to write it is logged rather than turning
 * the refusal into a 500.
 */
export async function recordRefusal(c: Context<AppEnv>, entry: Omit<AuditEntry, 'result'>): Promise<void> {
  try {
    await recordAudit(c, { ...entry, result: 'error' });
  } catch (error) {
    console.error(
      `watchtower: writing the audit row of a refused ${entry.action} failed:`,
      error instanceof Error ? error.message : error,
    );
  }
}

/** The client's address as Cloudflare saw it (it sets this header and overwrites a client's own). */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.req.header('cf-connecting-ip') ?? null;
}

export interface AuditFilter {
  actorKind?: string | undefined;
  actorId?: string | undefined;
  /** The actor's name as recorded (an email, a token's name): what a person reading the log knows. */
  actorName?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  result?: AuditResult | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Key-based pagination: only entries with an id below this one (the previous page's `nextCursor`). */
  before?: number | undefined;
  limit: number;
}

export type AuditRow = typeof auditLog.$inferSelect;

/** Newest first; one more row than asked tells whether there is a next page. */
export async function listAudit(
  db: StatementDatabase,
  filter: AuditFilter,
): Promise<{ entries: AuditRow[]; nextCursor: number | null }> {
  const conditions: SQL[] = [];
  if (filter.actorKind !== undefined) conditions.push(eq(auditLog.actorKind, filter.actorKind));
  if (filter.actorId !== undefined) conditions.push(eq(auditLog.actorId, filter.actorId));
  if (filter.actorName !== undefined) conditions.push(eq(auditLog.actorName, filter.actorName));
  if (filter.action !== undefined) conditions.push(eq(auditLog.action, filter.action));
  if (filter.targetType !== undefined) conditions.push(eq(auditLog.targetType, filter.targetType));
  if (filter.targetId !== undefined) conditions.push(eq(auditLog.targetId, filter.targetId));
  if (filter.result !== undefined) conditions.push(eq(auditLog.result, filter.result));
  if (filter.from !== undefined) conditions.push(gte(auditLog.at, filter.from));
  if (filter.to !== undefined) conditions.push(lte(auditLog.at, filter.to));
  if (filter.before !== undefined) conditions.push(lt(auditLog.id, filter.before));
  const rows = await db
    .select()
    .from(auditLog)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(filter.limit + 1);
  const entries = rows.slice(0, filter.limit);
  const last = entries.at(-1);
  return { entries, nextCursor: rows.length > filter.limit && last ? last.id : null };
}
