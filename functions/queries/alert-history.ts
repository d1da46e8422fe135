import { and, desc, eq, gt, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertDeliveries, alertEvents, alertRules, alertSilences, alerts } from '../../drizzle/schema';
import { scopeKey } from '../alerts/observation';

/** The reads of GET /api/alerts and GET /api/alerts/deliveries. */

const MAX_FIRING = 500;

export async function firingAlerts(db: StatementDatabase) {
  const rows = await db
    .select({
      ruleId: alerts.ruleId,
      ruleName: alertRules.name,
      kind: alertRules.kind,
      subject: alerts.subject,
      value: alerts.value,
      message: alerts.message,
      firedAt: alerts.firedAt,
      notifiedAt: alerts.notifiedAt,
      evaluatedAt: alerts.evaluatedAt,
      scope: alertRules.scope,
    })
    .from(alerts)
    .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
    // A disabled rule is not evaluated: what it last found is not "firing now".
    .where(and(eq(alerts.state, 'firing'), eq(alertRules.enabled, true)))
    .orderBy(desc(alerts.firedAt))
    .limit(MAX_FIRING);
  const now = new Date();
  const silences = await db
    .select()
    .from(alertSilences)
    .where(and(lte(alertSilences.startsAt, now), gt(alertSilences.endsAt, now)));
  return rows.map(({ scope, ...row }) => ({
    ...row,
    // A rule silence, or a scope silence equal to the rule's scope or covering everything. (The
    // cron matches scope silences on each subject's own scopes too; this read is the quick view.)
    silenced: silences.some(
      (silence) =>
        silence.ruleId === row.ruleId ||
        (silence.scope !== null &&
          (silence.scope.type === 'all' || scopeKey(silence.scope) === scopeKey(scope))),
    ),
  }));
}

export async function alertEventPage(
  db: StatementDatabase,
  filter: { ruleId?: string | undefined; before?: number | undefined; limit: number },
) {
  const conditions: SQL[] = [];
  if (filter.ruleId !== undefined) conditions.push(eq(alertEvents.ruleId, filter.ruleId));
  if (filter.before !== undefined) conditions.push(lt(alertEvents.id, filter.before));
  const rows = await db
    .select()
    .from(alertEvents)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(alertEvents.id))
    .limit(filter.limit + 1);
  const events = rows.slice(0, filter.limit);
  const last = events.at(-1);
  return { events, nextCursor: rows.length > filter.limit && last ? String(last.id) : null };
}

export async function deliveryPage(
  db: StatementDatabase,
  filter: {
    status?: (typeof alertDeliveries.status.enumValues)[number] | undefined;
    channelId?: string | undefined;
    before?: number | undefined;
    limit: number;
  },
) {
  const conditions: SQL[] = [];
  if (filter.status !== undefined) conditions.push(eq(alertDeliveries.status, filter.status));
  if (filter.channelId !== undefined) conditions.push(eq(alertDeliveries.channelId, filter.channelId));
  if (filter.before !== undefined) conditions.push(lt(alertDeliveries.id, filter.before));
  const rows = await db
    .select()
    .from(alertDeliveries)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(alertDeliveries.id))
    .limit(filter.limit + 1);
  const deliveries = rows.slice(0, filter.limit);
  const last = deliveries.at(-1);
  return { deliveries, nextCursor: rows.length > filter.limit && last ? String(last.id) : null };
}

export type SilenceRow = typeof alertSilences.$inferSelect;

export function silenceBody(row: SilenceRow, now = new Date()) {
  return {
    id: row.id,
    ruleId: row.ruleId,
    scope: row.scope,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    reason: row.reason,
    active: row.startsAt <= now && row.endsAt > now,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdByName,
  };
}

export async function listSilences(db: StatementDatabase, options: { all: boolean; limit: number }) {
  return db
    .select()
    .from(alertSilences)
    .where(options.all ? undefined : gt(alertSilences.endsAt, sql`now()`))
    .orderBy(desc(alertSilences.endsAt), desc(alertSilences.id))
    .limit(options.limit);
}
