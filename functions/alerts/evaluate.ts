import { and, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { alertEvents, alertRules, alertSilences, alerts } from '../../drizzle/schema';
import { observeConnections } from './connection-sources';
import { observeCrashLoop, observeHostDown } from './host-sources';
import { type NotificationPayload, queueNotifications } from './notifications';
import type { Observation } from './observation';
import { RunReads, scopeKey } from './observation';
import { observeQueues } from './queue-sources';
import { type AlertEventKind, FRESH_INSTANCE, type InstanceState, transition } from './transition';

/**
 * One evaluation of every enabled rule (the cron's `alerts` step, every minute). Each rule's
 * subjects go through `transition`; every state change and repeated notification is an event in
 * watchtower_alert_events; an event no active silence covers queues one delivery per enabled
 * channel of the rule (sent by the `alert deliveries` step). A rule whose evaluation fails is
 * counted and the others still run.
 */

export type RuleRow = typeof alertRules.$inferSelect;
type AlertRow = typeof alerts.$inferSelect;
type SilenceRow = typeof alertSilences.$inferSelect;

export interface EvaluationSummary {
  rules: number;
  failed: { rule: string; error: string }[];
  events: Record<AlertEventKind, number>;
  silenced: number;
}

async function observe(
  db: StatementDatabase,
  rule: RuleRow,
  reads: RunReads,
  previous: Map<string, AlertRow>,
  now: Date,
): Promise<Observation[]> {
  switch (rule.kind) {
    case 'host_down':
      return observeHostDown(db, rule, reads);
    case 'crash_loop':
      return observeCrashLoop(db, rule, reads, (subject) => previous.get(subject)?.memory, now.getTime());
    case 'queue_wait':
    case 'queue_depth':
    case 'failure_rate':
    case 'queue_stalled':
      return observeQueues(db, rule, reads, now.getTime());
    case 'connection_down':
    case 'connection_slow':
    case 'maxmemory_policy':
      return observeConnections(db, rule, reads);
  }
}

/** The silence covering this rule and subject now, if any. */
function silenceFor(silences: SilenceRow[], ruleId: string, scopes: readonly string[]): SilenceRow | null {
  return (
    silences.find(
      (silence) =>
        (silence.ruleId !== null && silence.ruleId === ruleId) ||
        (silence.scope !== null && scopes.includes(scopeKey(silence.scope))),
    ) ?? null
  );
}

function stateOf(row: AlertRow | undefined): InstanceState {
  if (!row) return FRESH_INSTANCE;
  return {
    state: row.state,
    badStreak: row.badStreak,
    goodStreak: row.goodStreak,
    firedAt: row.firedAt,
    resolvedAt: row.resolvedAt,
    notifiedAt: row.notifiedAt,
  };
}

/** Every enabled rule. */
export async function evaluateAlerts(db: StatementDatabase, now = new Date()): Promise<EvaluationSummary> {
  const rules = await db.select().from(alertRules).where(eq(alertRules.enabled, true));
  return evaluateRules(db, rules, now);
}

/** These rules, enabled or not (the cron passes the enabled ones; a test may pass its own). */
export async function evaluateRules(
  db: StatementDatabase,
  rules: readonly RuleRow[],
  now = new Date(),
): Promise<EvaluationSummary> {
  const summary: EvaluationSummary = {
    rules: 0,
    failed: [],
    events: { firing: 0, renotify: 0, resolved: 0 },
    silenced: 0,
  };
  if (rules.length === 0) return summary;
  const silences = await db
    .select()
    .from(alertSilences)
    .where(and(lte(alertSilences.startsAt, now), gt(alertSilences.endsAt, now)));
  const instances = await db
    .select()
    .from(alerts)
    .where(
      inArray(
        alerts.ruleId,
        rules.map((rule) => rule.id),
      ),
    );
  const reads = new RunReads();
  for (const rule of rules) {
    summary.rules++;
    try {
      const previous = new Map(
        instances.filter((row) => row.ruleId === rule.id).map((row) => [row.subject, row]),
      );
      await evaluateRule(db, rule, reads, previous, silences, now, summary);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`watchtower: alert rule "${rule.name}" could not be evaluated: ${message}`);
      summary.failed.push({ rule: rule.name, error: message });
    }
  }
  return summary;
}

async function evaluateRule(
  db: StatementDatabase,
  rule: RuleRow,
  reads: RunReads,
  previous: Map<string, AlertRow>,
  silences: SilenceRow[],
  now: Date,
  summary: EvaluationSummary,
): Promise<void> {
  const observed = await observe(db, rule, reads, previous, now);
  const seen = new Set(observed.map((observation) => observation.subject));
  // A subject no longer there (a queue gone, a connection no host checks now) counts as ok, so a
  // firing alert on it resolves after the same damping; one that is not firing is forgotten.
  const gone: Observation[] = [...previous.values()]
    .filter((row) => !seen.has(row.subject) && row.state === 'firing')
    .map((row) => ({
      subject: row.subject,
      bad: false,
      value: null,
      message: `${row.subject} is no longer observed`,
      scopes: ['all'],
    }));
  const forgotten = [...previous.values()]
    .filter((row) => !seen.has(row.subject) && row.state !== 'firing')
    .map((row) => row.subject);

  for (const observation of [...observed, ...gone]) {
    const before = previous.get(observation.subject);
    const { next, event } = transition(stateOf(before), observation.bad, rule, now);
    const silence = event ? silenceFor(silences, rule.id, observation.scopes) : null;
    // The renotify clock restarts at every notification that was due, sent or silenced (so a
    // silence does not turn into an event a minute); a silenced firing leaves it at firedAt.
    const notifiedAt =
      event === 'renotify' || (event !== null && !silence)
        ? now
        : event === 'firing'
          ? null
          : next.notifiedAt;
    const values = {
      state: next.state,
      badStreak: next.badStreak,
      goodStreak: next.goodStreak,
      firedAt: next.firedAt,
      resolvedAt: next.resolvedAt,
      notifiedAt,
      value: observation.value,
      message: observation.message.slice(0, 1000),
      memory: observation.memory ?? null,
      evaluatedAt: now,
    };
    if (before) {
      // Only if no other run changed it since it was read: two overlapping cron runs never both
      // record (and send) the same change.
      const updated = await db
        .update(alerts)
        .set(values)
        .where(
          and(
            eq(alerts.ruleId, rule.id),
            eq(alerts.subject, observation.subject),
            eq(alerts.evaluatedAt, before.evaluatedAt),
          ),
        )
        .returning({ subject: alerts.subject });
      if (updated.length === 0) continue;
    } else {
      const inserted = await db
        .insert(alerts)
        .values({ ruleId: rule.id, subject: observation.subject, ...values })
        .onConflictDoNothing()
        .returning({ subject: alerts.subject });
      if (inserted.length === 0) continue;
    }
    if (!event) continue;
    summary.events[event]++;
    if (silence) summary.silenced++;
    const [row] = await db
      .insert(alertEvents)
      .values({
        at: now,
        ruleId: rule.id,
        ruleName: rule.name,
        kind: rule.kind,
        subject: observation.subject,
        event,
        value: observation.value,
        message: observation.message.slice(0, 1000),
        silenceId: silence?.id ?? null,
      })
      .returning();
    if (!row || silence) continue;
    const payload: NotificationPayload = {
      type: `alert.${event}`,
      eventId: row.id,
      at: now.toISOString(),
      rule: { id: rule.id, name: rule.name, kind: rule.kind },
      subject: observation.subject,
      state: next.state === 'firing' ? 'firing' : 'resolved',
      value: observation.value,
      message: observation.message.slice(0, 1000),
      firedAt: next.firedAt?.toISOString() ?? null,
    };
    await queueNotifications(db, rule.channelIds, row.id, payload);
  }

  if (forgotten.length > 0) {
    await db
      .delete(alerts)
      .where(
        and(eq(alerts.ruleId, rule.id), inArray(alerts.subject, forgotten), sql`${alerts.state} <> 'firing'`),
      );
  }
}
