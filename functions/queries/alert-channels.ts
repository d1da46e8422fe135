import { asc, eq, gt, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertChannels } from '../../drizzle/schema';
import type { Actor } from '../auth/actor';
import { HttpError } from '../http-error';

/** The statements of /api/alerts/channels (functions/routes/alert-channels.ts). */

export type AlertChannelRow = typeof alertChannels.$inferSelect;

export interface AlertChannelValues {
  name: string;
  kind: AlertChannelRow['kind'];
  urlSealed: string | null;
  secretSealed: string | null;
  emailTo: string[] | null;
  enabled: boolean;
}

function conflictingName(name: string): HttpError {
  return new HttpError(409, 'conflict', `An alert channel named ${name} already exists`);
}

export async function listAlertChannels(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<AlertChannelRow[]> {
  return db
    .select()
    .from(alertChannels)
    .where(options.after === undefined ? undefined : gt(alertChannels.name, options.after))
    .orderBy(asc(alertChannels.name))
    .limit(options.limit);
}

export async function getAlertChannel(
  db: StatementDatabase,
  id: string,
  options: { lock?: boolean } = {},
): Promise<AlertChannelRow | null> {
  const query = db.select().from(alertChannels).where(eq(alertChannels.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row ?? null;
}

export async function insertAlertChannel(
  db: StatementDatabase,
  id: string,
  values: AlertChannelValues,
  actor: Actor,
): Promise<AlertChannelRow> {
  const by = `${actor.kind}:${actor.id}`;
  const [row] = await db
    .insert(alertChannels)
    .values({
      ...values,
      id,
      createdBy: by,
      createdByName: actor.name,
      updatedBy: by,
      updatedByName: actor.name,
    })
    .onConflictDoNothing({ target: alertChannels.name })
    .returning();
  if (!row) throw conflictingName(values.name);
  return row;
}

export async function updateAlertChannel(
  db: StatementDatabase,
  id: string,
  values: AlertChannelValues,
  actor: Actor,
): Promise<AlertChannelRow | null> {
  const [taken] = await db
    .select({ id: alertChannels.id })
    .from(alertChannels)
    .where(eq(alertChannels.name, values.name));
  if (taken && taken.id !== id) throw conflictingName(values.name);
  const [row] = await db
    .update(alertChannels)
    .set({
      ...values,
      updatedAt: sql`now()`,
      updatedBy: `${actor.kind}:${actor.id}`,
      updatedByName: actor.name,
    })
    .where(eq(alertChannels.id, id))
    .returning();
  return row ?? null;
}

/**
 * Deletes the channel and takes it out of every rule. Its deliveries stay in the log (a pending
 * one fails as "the channel was deleted").
 */
export async function deleteAlertChannel(db: StatementDatabase, id: string): Promise<AlertChannelRow | null> {
  const [row] = await db.delete(alertChannels).where(eq(alertChannels.id, id)).returning();
  if (row) {
    await db.execute(
      sql`update watchtower_alert_rules set channel_ids = array_remove(channel_ids, ${id}::uuid)
          where ${id}::uuid = any(channel_ids)`,
    );
  }
  return row ?? null;
}
