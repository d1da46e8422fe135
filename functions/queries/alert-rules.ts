import { asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertChannels, alertRules } from '../../drizzle/schema';
import type { Actor } from '../auth/actor';
import { HttpError } from '../http-error';
import type { AlertRuleInput, AlertRuleRow } from '../schemas/alert-rules';

/** The statements of /api/alerts/rules (functions/routes/alert-rules.ts). */

function conflictingName(name: string): HttpError {
  return new HttpError(409, 'conflict', `An alert rule named ${name} already exists`);
}

export async function listAlertRules(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<AlertRuleRow[]> {
  return db
    .select()
    .from(alertRules)
    .where(options.after === undefined ? undefined : gt(alertRules.name, options.after))
    .orderBy(asc(alertRules.name))
    .limit(options.limit);
}

export async function getAlertRule(
  db: StatementDatabase,
  id: string,
  options: { lock?: boolean } = {},
): Promise<AlertRuleRow | null> {
  const query = db.select().from(alertRules).where(eq(alertRules.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row ?? null;
}

/** 400 naming the ids of `channelIds` that are no channel. */
export async function checkChannelIds(db: StatementDatabase, channelIds: readonly string[]): Promise<void> {
  if (channelIds.length === 0) return;
  const found = await db
    .select({ id: alertChannels.id })
    .from(alertChannels)
    .where(inArray(alertChannels.id, [...channelIds]));
  const known = new Set(found.map((row) => row.id));
  const missing = channelIds.filter((id) => !known.has(id));
  if (missing.length > 0) {
    throw new HttpError(
      400,
      'bad_request',
      `Invalid request body: channelIds: no channel ${missing.join(', ')}`,
      [
        {
          location: 'json',
          path: ['channelIds'],
          code: 'custom',
          message: `no channel ${missing.join(', ')}`,
        },
      ],
    );
  }
}

function values(input: AlertRuleInput) {
  return {
    name: input.name,
    kind: input.kind,
    scope: input.scope,
    params: input.params as Record<string, number>,
    forEvaluations: input.forEvaluations,
    renotifyMinutes: input.renotifyMinutes,
    channelIds: input.channelIds,
    enabled: input.enabled,
  };
}

export async function insertAlertRule(
  db: StatementDatabase,
  input: AlertRuleInput,
  actor: Actor,
): Promise<AlertRuleRow> {
  const by = `${actor.kind}:${actor.id}`;
  const [row] = await db
    .insert(alertRules)
    .values({
      ...values(input),
      createdBy: by,
      createdByName: actor.name,
      updatedBy: by,
      updatedByName: actor.name,
    })
    .onConflictDoNothing({ target: alertRules.name })
    .returning();
  if (!row) throw conflictingName(input.name);
  return row;
}

export async function updateAlertRule(
  db: StatementDatabase,
  id: string,
  input: AlertRuleInput,
  actor: Actor,
): Promise<AlertRuleRow | null> {
  const [taken] = await db
    .select({ id: alertRules.id })
    .from(alertRules)
    .where(eq(alertRules.name, input.name));
  if (taken && taken.id !== id) throw conflictingName(input.name);
  const [row] = await db
    .update(alertRules)
    .set({
      ...values(input),
      version: sql`${alertRules.version} + 1`,
      updatedAt: sql`now()`,
      updatedBy: `${actor.kind}:${actor.id}`,
      updatedByName: actor.name,
    })
    .where(eq(alertRules.id, id))
    .returning();
  return row ?? null;
}

/** Deletes the rule and (by cascade) its alerts' states; its events stay as history. */
export async function deleteAlertRule(db: StatementDatabase, id: string): Promise<AlertRuleRow | null> {
  const [row] = await db.delete(alertRules).where(eq(alertRules.id, id)).returning();
  return row ?? null;
}
