import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { alertDeliveries, alertEvents, alertRules, alerts } from '../../drizzle/schema';
import { backoffMinutes, MAX_ATTEMPTS, sendDueDeliveries } from '../../functions/alerts/deliver';
import { evaluateRules } from '../../functions/alerts/evaluate';
import { bearer, type CreatedToken, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';

/**
 * The evaluation against rows as hosts write them: a host's heartbeat and its checks of a
 * connection. The rules are created disabled, so only this file evaluates them (other suites run
 * the cron meanwhile), one evaluation per call, with the clock given.
 */

let database: NeonDatabaseHandle;
let admin: CreatedToken;
let operator: CreatedToken;
const prefix = unique('alert-eval');
const hostId = `${prefix}-host`;
const connection = `${prefix}-redis`;
const label = `${prefix}-label`;

beforeAll(async () => {
  database = openTestDatabase();
  [admin, operator] = await Promise.all([createToken('admin'), createToken('operator')]);
  await database.db.execute(sql`
    insert into watchtower_hosts (host_id, hostname, pid, status, connections, stats, last_heartbeat)
    values (${hostId}, ${`${prefix}-machine`}, 1, 'running', ${JSON.stringify([connection])}::jsonb,
            ${JSON.stringify({ configuration: { labels: [label] } })}::jsonb, now())`);
});

afterAll(async () => {
  const like = `${prefix}%`;
  await database.db.execute(sql`delete from watchtower_alert_silences where reason like ${like}`);
  await database.db.execute(sql`delete from watchtower_alert_events where rule_name like ${like}`);
  await database.db.execute(sql`delete from watchtower_alert_rules where name like ${like}`);
  await database.db.execute(
    sql`delete from watchtower_alert_deliveries where channel_id in (select id from watchtower_alert_channels where name like ${like})`,
  );
  await database.db.execute(sql`delete from watchtower_alert_channels where name like ${like}`);
  await database.db.execute(sql`delete from watchtower_connection_health where host_id = ${hostId}`);
  await database.db.execute(sql`delete from watchtower_hosts where host_id = ${hostId}`);
  await database.close();
});

/** The host's check of this minute, as its heartbeat writes it (replacing the minute's row). */
async function check(up: boolean): Promise<void> {
  await database.db.execute(sql`
    insert into watchtower_connection_health (minute, host_id, connection, kind, checks, errors, up, latency_p50_ms, latency_p95_ms, last_error)
    values (date_trunc('minute', now()), ${hostId}, ${connection}, 'redis', 1, ${up ? 0 : 1}, ${up},
            ${up ? 1 : null}, ${up ? 2 : null}, ${up ? null : 'connect ECONNREFUSED 127.0.0.1:1'})
    on conflict (minute, host_id, connection) do update set up = excluded.up, last_error = excluded.last_error,
      latency_p50_ms = excluded.latency_p50_ms, latency_p95_ms = excluded.latency_p95_ms`);
  await database.db.execute(
    sql`update watchtower_hosts set last_heartbeat = now() where host_id = ${hostId}`,
  );
}

async function createRule(body: Record<string, unknown>): Promise<typeof alertRules.$inferSelect> {
  const response = await call('/api/alerts/rules', {
    method: 'POST',
    headers: bearer(operator.token),
    json: { enabled: false, ...body },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const { id } = await response.json<{ id: string }>();
  const [row] = await database.db.select().from(alertRules).where(eq(alertRules.id, id));
  if (!row) throw new Error('the rule is not there');
  return row;
}

async function createChannel(): Promise<string> {
  const response = await call('/api/alerts/channels', {
    method: 'POST',
    headers: bearer(admin.token),
    json: {
      kind: 'webhook',
      name: unique(`${prefix}-hook`),
      url: 'http://127.0.0.1:1/hook',
      secret: 'a signing secret of some length',
    },
  });
  expect(response.status).toBe(201);
  return (await response.json<{ id: string }>()).id;
}

async function stateOf(ruleId: string): Promise<string | undefined> {
  const [row] = await database.db.select().from(alerts).where(eq(alerts.ruleId, ruleId));
  return row?.state;
}

async function eventsOf(ruleId: string) {
  return database.db.select().from(alertEvents).where(eq(alertEvents.ruleId, ruleId)).orderBy(alertEvents.id);
}

async function deliveriesOf(eventIds: number[]): Promise<number> {
  if (eventIds.length === 0) return 0;
  const rows = rowsOf<{ n: string | number }>(
    await database.db.execute(
      sql`select count(*) as n from watchtower_alert_deliveries where event_id in ${eventIds}`,
    ),
  );
  return Number(rows[0]?.n ?? 0);
}

describe('evaluating a rule', () => {
  it('damps flapping: a state changes only after forEvaluations evaluations agree', async () => {
    const channel = await createChannel();
    const rule = await createRule({
      name: `${prefix}-flap`,
      kind: 'connection_down',
      scope: { type: 'connection', connection },
      forEvaluations: 2,
      channelIds: [channel],
    });
    const t0 = Date.now();
    const at = (minute: number) => new Date(t0 + minute * 60_000);
    // down, up, down, up: never two in a row, never firing, nothing recorded.
    for (const [minute, up] of [
      [0, false],
      [1, true],
      [2, false],
      [3, true],
      [4, false],
    ] as const) {
      await check(up);
      await evaluateRules(database.db, [rule], at(minute));
      expect(await stateOf(rule.id), `minute ${minute}`).toBe('ok');
    }
    expect(await eventsOf(rule.id)).toEqual([]);

    // A second down in a row: firing, one event, one delivery queued for the channel.
    await check(false);
    const fired = await evaluateRules(database.db, [rule], at(5));
    expect(fired.events.firing).toBe(1);
    expect(await stateOf(rule.id)).toBe('firing');
    const [firing] = await eventsOf(rule.id);
    expect(firing).toMatchObject({ event: 'firing', subject: connection, silenceId: null });
    expect(firing?.message).toContain('ECONNREFUSED');
    const [delivery] = await database.db
      .select()
      .from(alertDeliveries)
      .where(eq(alertDeliveries.eventId, firing?.id ?? -1));
    expect(delivery).toMatchObject({
      channelId: channel,
      status: expect.stringMatching(/pending|sending|failed/),
    });
    expect(delivery?.payload).toMatchObject({
      type: 'alert.firing',
      subject: connection,
      state: 'firing',
      rule: { id: rule.id, kind: 'connection_down' },
    });

    // One up among downs does not resolve it; still firing, no new event before the renotify time.
    await check(true);
    await evaluateRules(database.db, [rule], at(6));
    await check(false);
    await evaluateRules(database.db, [rule], at(7));
    expect(await stateOf(rule.id)).toBe('firing');
    expect((await eventsOf(rule.id)).map((event) => event.event)).toEqual(['firing']);

    // An hour on (renotifyMinutes 60): notified again.
    await evaluateRules(database.db, [rule], at(66));
    expect((await eventsOf(rule.id)).map((event) => event.event)).toEqual(['firing', 'renotify']);

    // Two ups: resolved, notified once.
    await check(true);
    await evaluateRules(database.db, [rule], at(67));
    expect(await stateOf(rule.id)).toBe('firing');
    await evaluateRules(database.db, [rule], at(68));
    expect(await stateOf(rule.id)).toBe('resolved');
    const events = await eventsOf(rule.id);
    expect(events.map((event) => event.event)).toEqual(['firing', 'renotify', 'resolved']);
    expect(await deliveriesOf(events.map((event) => event.id))).toBe(3);
    await evaluateRules(database.db, [rule], at(69));
    expect(await eventsOf(rule.id)).toHaveLength(3);
  });

  it('a silenced rule still changes state and records, and sends nothing', async () => {
    const channel = await createChannel();
    const rule = await createRule({
      name: `${prefix}-silenced`,
      kind: 'connection_down',
      scope: { type: 'host', label },
      forEvaluations: 1,
      channelIds: [channel],
    });
    const silence = await call('/api/alerts/silences', {
      method: 'POST',
      headers: bearer(operator.token),
      json: {
        scope: { type: 'host', label },
        endsAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
        reason: `${prefix} planned`,
      },
    });
    expect(silence.status).toBe(201);
    const { id: silenceId } = await silence.json<{ id: string }>();

    await check(false);
    const t0 = Date.now();
    await evaluateRules(database.db, [rule], new Date(t0));
    expect(await stateOf(rule.id)).toBe('firing');
    // An hour on, still silenced: one renotify event, recorded, and not another a minute later.
    await evaluateRules(database.db, [rule], new Date(t0 + 61 * 60_000));
    await evaluateRules(database.db, [rule], new Date(t0 + 62 * 60_000));
    await check(true);
    await evaluateRules(database.db, [rule], new Date(t0 + 63 * 60_000));
    expect(await stateOf(rule.id)).toBe('resolved');
    const events = await eventsOf(rule.id);
    expect(events.map((event) => [event.event, event.silenceId])).toEqual([
      ['firing', silenceId],
      ['renotify', silenceId],
      ['resolved', silenceId],
    ]);
    expect(await deliveriesOf(events.map((event) => event.id))).toBe(0);

    // Once the silence ends, the next firing is sent.
    const ended = await call(`/api/alerts/silences/${silenceId}`, {
      method: 'DELETE',
      headers: bearer(operator.token),
    });
    expect(ended.status).toBe(200);
    await check(false);
    await evaluateRules(database.db, [rule]);
    const after = await eventsOf(rule.id);
    expect(after.at(-1)).toMatchObject({ event: 'firing', silenceId: null });
    expect(await deliveriesOf([after.at(-1)?.id ?? -1])).toBe(1);

    // GET /api/alerts has its history; it is not "firing now" while the rule is disabled (nothing
    // evaluates it: this file evaluates it by hand). The end-to-end test reads enabled ones firing.
    const answer = await call(`/api/alerts?ruleId=${rule.id}`, { headers: bearer(operator.token) });
    const body = await answer.json<{
      firing: { ruleId: string; subject: string }[];
      events: { event: string }[];
    }>();
    expect(body.firing.filter((alert) => alert.ruleId === rule.id)).toEqual([]);
    expect(body.events.map((event) => event.event)).toEqual(['firing', 'resolved', 'renotify', 'firing']);
  });

  it('one rule that cannot be evaluated does not stop the others', async () => {
    const good = await createRule({
      name: `${prefix}-good`,
      kind: 'connection_down',
      scope: { type: 'connection', connection },
      forEvaluations: 1,
    });
    const broken = await createRule({
      name: `${prefix}-broken`,
      kind: 'queue_depth',
      params: { waiting: 1 },
    });
    // As a rule written by an older version could be: its threshold missing.
    const brokenRow = { ...broken, params: {} };
    await check(false);
    const summary = await evaluateRules(database.db, [brokenRow, good]);
    expect(summary.failed).toEqual([{ rule: broken.name, error: expect.stringContaining('waiting') }]);
    expect(await stateOf(good.id)).toBe('firing');
  });
});

describe('delivering', () => {
  it('retries a failed delivery after a backoff and gives up after the last attempt', async () => {
    expect([1, 2, 3, 4].map(backoffMinutes)).toEqual([1, 2, 4, 8]);
    const channel = await createChannel();
    const [row] = await database.db
      .insert(alertDeliveries)
      .values({ channelId: channel, channelName: 'refused', payload: { type: 'test', message: 'x' } })
      .returning();
    if (!row) throw new Error('no delivery');
    // Another suite's cron may be sending it at this moment (it claims due deliveries too): its
    // outcome is the same, so wait for it rather than for this call's.
    const read = async () => {
      for (let tries = 0; ; tries++) {
        const [current] = await database.db
          .select()
          .from(alertDeliveries)
          .where(eq(alertDeliveries.id, row.id));
        if (current?.status !== 'sending' || tries > 200) return current;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await sendDueDeliveries(database.db, env);
    const first = await read();
    expect(first).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null });
    expect(first?.lastError).toMatch(/could not send|no answer/);
    // Not due again before its backoff.
    expect((first?.nextAttemptAt.getTime() ?? 0) - (first?.lastAttemptAt?.getTime() ?? 0)).toBeGreaterThan(
      50_000,
    );
    await sendDueDeliveries(database.db, env);
    expect((await read())?.attempts).toBe(1);

    // The last attempt, once due: given up.
    await database.db
      .update(alertDeliveries)
      .set({ attempts: MAX_ATTEMPTS - 1, nextAttemptAt: new Date(Date.now() - 1000) })
      .where(eq(alertDeliveries.id, row.id));
    await sendDueDeliveries(database.db, env);
    expect(await read()).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
  });
});
