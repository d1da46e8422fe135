import { eq } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertDeliveries } from '../../drizzle/schema';
import { keyRing } from '../encryption-keys';
import type { Env } from '../env';
import type { AlertChannelRow } from '../queries/alert-channels';
import { recordOutcome } from './deliver';
import type { NotificationPayload } from './notifications';
import { attemptDelivery } from './send';

/**
 * A test notification to one channel, sent at once with one attempt (no retries: whoever asked is
 * waiting for the outcome), and kept in the delivery log like any other.
 */
export async function sendTestNotification(
  db: StatementDatabase,
  env: Env,
  channel: AlertChannelRow,
  requestedBy: string,
): Promise<typeof alertDeliveries.$inferSelect> {
  const payload: NotificationPayload = {
    type: 'test',
    eventId: null,
    at: new Date().toISOString(),
    rule: null,
    subject: null,
    state: null,
    value: null,
    message: `A test notification from Watchtower to channel ${channel.name}, asked for by ${requestedBy}.`,
    firedAt: null,
  };
  const [row] = await db
    .insert(alertDeliveries)
    .values({
      channelId: channel.id,
      channelName: channel.name,
      status: 'sending',
      attempts: 1,
      lastAttemptAt: new Date(),
      payload,
    })
    .returning();
  if (!row) throw new Error('inserting the test delivery returned no row');
  const outcome = await attemptDelivery(channel, await keyRing(env), env, payload, row.id);
  await recordOutcome(db, row.id, 1, outcome, 1);
  const [after] = await db.select().from(alertDeliveries).where(eq(alertDeliveries.id, row.id));
  return after ?? row;
}
