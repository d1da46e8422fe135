import { eq, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertChannels, alertDeliveries } from '../../drizzle/schema';
import { keyRing } from '../encryption-keys';
import type { Env } from '../env';
import { query } from '../queries/sql';
import type { NotificationPayload } from './notifications';
import { type AttemptOutcome, attemptDelivery, type ChannelRow } from './send';

/**
 * Sending the queued deliveries (the cron's `alert deliveries` step, after `alerts`). Each run
 * claims the due ones, sends them all at once (a slow or failing channel delays no other), and
 * records each attempt. A failed attempt is tried again by a later run after a backoff (1, 2, 4,
 * 8 minutes...), until MAX_ATTEMPTS, then the delivery is `failed` for good.
 */

export const MAX_ATTEMPTS = 5;
/** Deliveries one run sends at most; the next run carries on. */
const BATCH = 50;
/** A claimed delivery whose run died before recording its outcome is taken again after this. */
const CLAIM_SECONDS = 120;

export type DeliveryRow = typeof alertDeliveries.$inferSelect;

/** Minutes before the next attempt after `attempts` failed ones. */
export function backoffMinutes(attempts: number): number {
  return Math.min(60, 2 ** Math.max(0, attempts - 1));
}

interface ClaimedRow {
  id: number | string;
  channel_id: string;
  attempts: number;
  payload: NotificationPayload;
}

export interface DeliveryRunSummary {
  sent: number;
  retrying: number;
  failed: number;
}

export async function sendDueDeliveries(db: StatementDatabase, env: Env): Promise<DeliveryRunSummary> {
  // One statement: claimed rows are leased (status sending, next attempt pushed back), so an
  // overlapping run skips them.
  const claimed = await query<ClaimedRow>(
    db,
    sql`update watchtower_alert_deliveries d
        set status = 'sending', attempts = d.attempts + 1, last_attempt_at = now(),
            next_attempt_at = now() + make_interval(secs => ${CLAIM_SECONDS})
        where d.id in (
          select id from watchtower_alert_deliveries
          where (status = 'pending' or status = 'sending') and next_attempt_at <= now()
          order by next_attempt_at, id limit ${BATCH} for update skip locked)
        returning d.id, d.channel_id, d.attempts, d.payload`,
  );
  const summary: DeliveryRunSummary = { sent: 0, retrying: 0, failed: 0 };
  if (claimed.length === 0) return summary;
  const ring = await keyRing(env).catch(() => null);
  const channels = new Map<string, ChannelRow>();
  for (const id of new Set(claimed.map((row) => row.channel_id))) {
    const [channel] = await db.select().from(alertChannels).where(eq(alertChannels.id, id));
    if (channel) channels.set(id, channel);
  }
  const outcomes = await Promise.allSettled(
    claimed.map(async (row) => {
      const channel = channels.get(row.channel_id);
      const outcome: AttemptOutcome = !channel
        ? { ok: false, status: null, error: 'the channel was deleted' }
        : !channel.enabled
          ? { ok: false, status: null, error: 'the channel is disabled' }
          : await attemptDelivery(channel, ring, env, row.payload, Number(row.id));
      const final = !channel?.enabled;
      return recordOutcome(db, Number(row.id), row.attempts, outcome, final ? row.attempts : MAX_ATTEMPTS);
    }),
  );
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') {
      console.error(`watchtower: recording an alert delivery failed: ${String(outcome.reason)}`);
      continue;
    }
    summary[outcome.value]++;
  }
  return summary;
}

/** Records one attempt's outcome: sent, pending again after a backoff, or failed for good. */
export async function recordOutcome(
  db: StatementDatabase,
  id: number,
  attempts: number,
  outcome: AttemptOutcome,
  maxAttempts: number,
): Promise<'sent' | 'retrying' | 'failed'> {
  const status = outcome.ok ? 'sent' : attempts >= maxAttempts ? 'failed' : 'pending';
  await db
    .update(alertDeliveries)
    .set({
      status,
      lastStatus: outcome.status,
      lastError: outcome.error,
      nextAttemptAt: sql`now() + make_interval(mins => ${status === 'pending' ? backoffMinutes(attempts) : 0})`,
    })
    .where(eq(alertDeliveries.id, id));
  return status === 'pending' ? 'retrying' : status;
}
