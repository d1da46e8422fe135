import { asc, desc, eq, gt, type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertChannels, alertDeliveries } from '../../drizzle/schema';
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

/** What a channel read shows of its newest delivery (the delivery log's row, without the payload). */
export interface LastDeliveryRow {
  id: number;
  createdAt: Date;
  eventId: number | null;
  type: string | null;
  status: (typeof alertDeliveries.status.enumValues)[number];
  attempts: number;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** A channel with its newest delivery (null: none yet), for the reads of the API. */
export interface AlertChannelWithDelivery {
  channel: AlertChannelRow;
  lastDelivery: LastDeliveryRow | null;
}

/**
 * Channels with each one's newest delivery, in one statement: a lateral subquery per channel that
 * the index on (channel_id, id desc) answers with one row, however long the log of the others.
 */
async function channelsWithLastDelivery(
  db: StatementDatabase,
  where: SQL | undefined,
  limit: number,
): Promise<AlertChannelWithDelivery[]> {
  const last = db
    .select({
      id: alertDeliveries.id,
      createdAt: alertDeliveries.createdAt,
      eventId: alertDeliveries.eventId,
      type: sql<string | null>`${alertDeliveries.payload}->>'type'`.as('type'),
      status: alertDeliveries.status,
      attempts: alertDeliveries.attempts,
      lastAttemptAt: alertDeliveries.lastAttemptAt,
      lastStatus: alertDeliveries.lastStatus,
      lastError: alertDeliveries.lastError,
    })
    .from(alertDeliveries)
    .where(eq(alertDeliveries.channelId, alertChannels.id))
    .orderBy(desc(alertDeliveries.id))
    .limit(1)
    .as('last_delivery');
  const rows = await db
    .select({
      channel: alertChannels,
      lastDelivery: {
        id: last.id,
        createdAt: last.createdAt,
        eventId: last.eventId,
        type: last.type,
        status: last.status,
        attempts: last.attempts,
        lastAttemptAt: last.lastAttemptAt,
        lastStatus: last.lastStatus,
        lastError: last.lastError,
      },
    })
    .from(alertChannels)
    .leftJoinLateral(last, sql`true`)
    .where(where)
    .orderBy(asc(alertChannels.name))
    .limit(limit);
  // The id is never null on a delivery: a null one is the left join finding none.
  return rows.map((row) => ({
    channel: row.channel,
    lastDelivery: row.lastDelivery?.id == null ? null : (row.lastDelivery as LastDeliveryRow),
  }));
}

/** By name, after `after` (the previous page's last name), each with its newest delivery. */
export async function listAlertChannels(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<AlertChannelWithDelivery[]> {
  return channelsWithLastDelivery(
    db,
    options.after === undefined ? undefined : gt(alertChannels.name, options.after),
    options.limit,
  );
}

/** One channel with its newest delivery; null for an unknown id. */
export async function getAlertChannelWithDelivery(
  db: StatementDatabase,
  id: string,
): Promise<AlertChannelWithDelivery | null> {
  const [row] = await channelsWithLastDelivery(db, eq(alertChannels.id, id), 1);
  return row ?? null;
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
