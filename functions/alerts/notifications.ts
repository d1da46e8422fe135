import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import type { AlertKind } from '../../drizzle/schema';

/**
 * What a notification says, whatever channel carries it. Kept with each delivery (no secrets), so
 * a retry sends what the first attempt sent. Webhook receivers get exactly this object as JSON.
 */
export interface NotificationPayload extends Record<string, unknown> {
  /** `alert.firing`, `alert.renotify` (still firing), `alert.resolved`, or `test`. */
  type: 'alert.firing' | 'alert.renotify' | 'alert.resolved' | 'test';
  /** The alert event (GET /api/alerts); null for a test. */
  eventId: number | null;
  at: string;
  rule: { id: string; name: string; kind: AlertKind } | null;
  subject: string | null;
  state: 'firing' | 'resolved' | null;
  value: number | null;
  message: string;
  firedAt: string | null;
}

/** One pending delivery per enabled channel of the rule (a deleted channel id is skipped). */
export async function queueNotifications(
  db: StatementDatabase,
  channelIds: readonly string[],
  eventId: number,
  payload: NotificationPayload,
): Promise<void> {
  if (channelIds.length === 0) return;
  const ids = sql.join(
    channelIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  await db.execute(sql`
    insert into watchtower_alert_deliveries (channel_id, channel_name, event_id, payload)
    select c.id, c.name, ${eventId}, ${JSON.stringify(payload)}::jsonb
    from watchtower_alert_channels c
    where c.id in (${ids}) and c.enabled`);
}

/** One line for people: Slack's text, an email's subject. */
export function headline(payload: NotificationPayload): string {
  switch (payload.type) {
    case 'test':
      return 'Watchtower: test notification';
    case 'alert.resolved':
      return `[RESOLVED] ${payload.rule?.name ?? 'alert'}: ${payload.subject ?? ''}`;
    case 'alert.renotify':
      return `[STILL FIRING] ${payload.rule?.name ?? 'alert'}: ${payload.subject ?? ''}`;
    case 'alert.firing':
      return `[FIRING] ${payload.rule?.name ?? 'alert'}: ${payload.subject ?? ''}`;
  }
}

/** Slack's incoming-webhook shape: `text` (the fallback) and blocks; &, < and > escaped for mrkdwn. */
export function slackBody(payload: NotificationPayload): { text: string; blocks: unknown[] } {
  const mrkdwn = (text: string) =>
    text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const title = mrkdwn(headline(payload));
  const details = [mrkdwn(payload.message)];
  if (payload.rule) details.push(`Rule: ${mrkdwn(payload.rule.name)} (${payload.rule.kind})`);
  return {
    text: `${title}\n${mrkdwn(payload.message)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${title}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: details.join('\n') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Watchtower · ${payload.at}` }] },
    ],
  };
}

/** Plain text for an email's body. */
export function emailText(payload: NotificationPayload): string {
  const lines = [headline(payload), '', payload.message, ''];
  if (payload.rule) lines.push(`Rule: ${payload.rule.name} (${payload.rule.kind})`);
  if (payload.subject) lines.push(`Subject: ${payload.subject}`);
  if (payload.firedAt) lines.push(`Firing since: ${payload.firedAt}`);
  lines.push(`At: ${payload.at}`);
  return lines.join('\n');
}
