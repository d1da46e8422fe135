import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Channel, okJson, type Rule, send, useAlertRoutes } from './support/alert-routes';
import { bearer, call, errorOf } from './support/api';

/**
 * /api/alerts/rules, /silences, /deliveries and GET /api/alerts: who may do what, what the audit
 * log says, and bad input refused with nothing changed. Every rule here is created disabled, so no
 * cron run of another suite evaluates it.
 */

const t = useAlertRoutes('alert-rules');

describe('alert rules', () => {
  let channel: Channel;

  beforeAll(async () => {
    channel = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', t.admin.token, {
        kind: 'slack',
        name: t.name('rules-slack'),
        url: t.slackUrl,
      }),
      201,
    );
  });

  it('operators create and change them, viewers read them, every change is audited', async () => {
    const body = {
      name: t.name('queue-wait'),
      kind: 'queue_wait',
      scope: { type: 'queue', connection: 'default', queue: 'emails' },
      params: { seconds: 120 },
      channelIds: [channel.id],
      enabled: false,
    };
    expect((await send('POST', '/api/alerts/rules', t.viewer.token, body)).status).toBe(403);
    const rule = await okJson<Rule>(await send('POST', '/api/alerts/rules', t.operator.token, body), 201);
    // The defaults: two evaluations to change state, a reminder every hour.
    expect(rule).toMatchObject({ forEvaluations: 2, renotifyMinutes: 60, enabled: false, version: 1 });
    const read = await okJson<Rule>(await send('GET', `/api/alerts/rules/${rule.id}`, t.viewer.token), 200);
    expect(read).toEqual(rule);

    expect(
      (await send('PATCH', `/api/alerts/rules/${rule.id}`, t.viewer.token, { forEvaluations: 3 })).status,
    ).toBe(403);
    const changed = await okJson<Rule>(
      await send('PATCH', `/api/alerts/rules/${rule.id}`, t.operator.token, {
        forEvaluations: 3,
        params: { seconds: 300 },
      }),
      200,
    );
    expect(changed).toMatchObject({ forEvaluations: 3, params: { seconds: 300 }, version: 2 });

    expect((await send('DELETE', `/api/alerts/rules/${rule.id}`, t.viewer.token)).status).toBe(403);
    expect((await send('DELETE', `/api/alerts/rules/${rule.id}`, t.operator.token)).status).toBe(204);
    expect((await send('GET', `/api/alerts/rules/${rule.id}`, t.viewer.token)).status).toBe(404);

    const audit = await t.auditRows(rule.id);
    expect(audit.map((row) => row.action)).toEqual([
      'alert_rules.create',
      'alert_rules.update',
      'alert_rules.delete',
    ]);
    expect(audit.every((row) => row.actor_id === t.operator.id)).toBe(true);
    expect(audit[1]?.details).toMatchObject({
      changes: {
        forEvaluations: { from: 2, to: 3 },
        params: { from: { seconds: 120 }, to: { seconds: 300 } },
      },
    });
  });

  it('refuses rules that do not fit their kind, and changes nothing', async () => {
    const rule = await okJson<Rule>(
      await send('POST', '/api/alerts/rules', t.operator.token, {
        name: t.name('down'),
        kind: 'host_down',
        scope: { type: 'host', label: 'eu-west' },
        params: { seconds: 30 },
        enabled: false,
      }),
      201,
    );
    const rulesBefore = await t.count('watchtower_alert_rules');
    const bad: [string, unknown][] = [
      [
        'a queue scope for host_down',
        {
          name: t.name('x1'),
          kind: 'host_down',
          scope: { type: 'queue', connection: 'a', queue: 'b' },
          params: { seconds: 30 },
        },
      ],
      [
        'a host scope for queue_depth',
        {
          name: t.name('x2'),
          kind: 'queue_depth',
          scope: { type: 'host', label: 'x' },
          params: { waiting: 5 },
        },
      ],
      ["another kind's params", { name: t.name('x3'), kind: 'queue_depth', params: { seconds: 5 } }],
      ['no params', { name: t.name('x4'), kind: 'failure_rate' }],
      [
        'a percentage over 100',
        { name: t.name('x5'), kind: 'failure_rate', params: { percent: 101, minJobs: 10, minutes: 5 } },
      ],
      ['a fractional count', { name: t.name('x6'), kind: 'queue_depth', params: { waiting: 1.5 } }],
      ['host_down under 5 s', { name: t.name('x7'), kind: 'host_down', params: { seconds: 1 } }],
      ['forEvaluations 0', { name: t.name('x8'), kind: 'connection_down', forEvaluations: 0 }],
      [
        'an unknown channel',
        { name: t.name('x9'), kind: 'connection_down', channelIds: [crypto.randomUUID()] },
      ],
      [
        'a repeated channel',
        { name: t.name('x10'), kind: 'connection_down', channelIds: [channel.id, channel.id] },
      ],
      [
        'a channel id that is no uuid',
        { name: t.name('x11'), kind: 'connection_down', channelIds: ["' or 1=1 --"] },
      ],
      ['an unknown kind', { name: t.name('x12'), kind: 'cpu_high', params: {} }],
      [
        'a queue name with a space',
        {
          name: t.name('x13'),
          kind: 'queue_depth',
          scope: { type: 'queue', connection: 'a', queue: 'b c' },
          params: { waiting: 1 },
        },
      ],
      ['a name with a NUL', { name: 'a\u0000b', kind: 'connection_down' }],
      ['an unknown field', { name: t.name('x14'), kind: 'connection_down', severity: 'high' }],
    ];
    for (const [label, body] of bad) {
      const response = await send('POST', '/api/alerts/rules', t.operator.token, body);
      expect(response.status, label).toBe(400);
      expect((await errorOf(response)).code, label).toBe('bad_request');
    }
    const badPatches: [string, unknown][] = [
      ['a scope the kind does not take', { scope: { type: 'connection', connection: 'x' } }],
      ["another kind's params", { params: { waiting: 3 } }],
      ['nothing', {}],
      ['the kind', { kind: 'queue_depth' }],
    ];
    for (const [label, patch] of badPatches) {
      const response = await send('PATCH', `/api/alerts/rules/${rule.id}`, t.operator.token, patch);
      expect(response.status, label).toBe(400);
    }
    expect(await t.count('watchtower_alert_rules')).toBe(rulesBefore);
    expect(
      await okJson<Rule>(await send('GET', `/api/alerts/rules/${rule.id}`, t.viewer.token), 200),
    ).toEqual(rule);
    expect(
      (await send('PATCH', `/api/alerts/rules/${crypto.randomUUID()}`, t.operator.token, { enabled: false }))
        .status,
    ).toBe(404);
    const duplicate = await send('POST', '/api/alerts/rules', t.operator.token, {
      name: rule.name,
      kind: 'connection_down',
    });
    expect(duplicate.status).toBe(409);
  });

  it('deleting a channel takes it out of the rules that named it', async () => {
    const doomed = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', t.admin.token, {
        kind: 'slack',
        name: t.name('doomed'),
        url: t.slackUrl,
      }),
      201,
    );
    const rule = await okJson<Rule>(
      await send('POST', '/api/alerts/rules', t.operator.token, {
        name: t.name('uses-doomed'),
        kind: 'connection_down',
        channelIds: [channel.id, doomed.id],
        enabled: false,
      }),
      201,
    );
    expect((await send('DELETE', `/api/alerts/channels/${doomed.id}`, t.operator.token)).status).toBe(403);
    expect((await send('DELETE', `/api/alerts/channels/${doomed.id}`, t.admin.token)).status).toBe(204);
    const after = await okJson<Rule>(await send('GET', `/api/alerts/rules/${rule.id}`, t.viewer.token), 200);
    expect(after.channelIds).toEqual([channel.id]);
  });
});

describe('silences', () => {
  it('operators silence a rule or a scope until a time; bad times and targets are refused', async () => {
    const rule = await okJson<Rule>(
      await send('POST', '/api/alerts/rules', t.operator.token, {
        name: t.name('silenced'),
        kind: 'connection_down',
        enabled: false,
      }),
      201,
    );
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const body = { ruleId: rule.id, endsAt, reason: `${t.prefix} maintenance` };
    expect((await send('POST', '/api/alerts/silences', t.viewer.token, body)).status).toBe(403);
    const silence = await okJson<{ id: string; active: boolean; ruleId: string }>(
      await send('POST', '/api/alerts/silences', t.operator.token, body),
      201,
    );
    expect(silence).toMatchObject({ active: true, ruleId: rule.id });
    const scoped = await okJson<{ id: string; scope: unknown }>(
      await send('POST', '/api/alerts/silences', t.operator.token, {
        scope: { type: 'connection', connection: 'main-redis' },
        endsAt,
        reason: `${t.prefix} redis upgrade`,
      }),
      201,
    );
    expect(scoped.scope).toEqual({ type: 'connection', connection: 'main-redis' });

    const before = await t.count('watchtower_alert_silences');
    const bad: [string, unknown][] = [
      ['both a rule and a scope', { ...body, scope: { type: 'all' } }],
      ['neither', { endsAt, reason: `${t.prefix} x` }],
      ['an end in the past', { ...body, endsAt: new Date(Date.now() - 1000).toISOString() }],
      ['an end a year ahead', { ...body, endsAt: new Date(Date.now() + 365 * 86_400_000).toISOString() }],
      ['an end before the start', { ...body, startsAt: new Date(Date.now() + 7_200_000).toISOString() }],
      ['year 0', { ...body, endsAt: '0000-01-01T00:00:00Z' }],
      ['an unknown rule', { ...body, ruleId: crypto.randomUUID() }],
      ['no reason', { ruleId: rule.id, endsAt }],
      ['a reason with a NUL', { ...body, reason: 'a\u0000b' }],
    ];
    for (const [label, silenceBody] of bad) {
      expect((await send('POST', '/api/alerts/silences', t.operator.token, silenceBody)).status, label).toBe(
        400,
      );
    }
    expect(await t.count('watchtower_alert_silences')).toBe(before);

    const listed = await okJson<{ silences: { id: string }[] }>(
      await send('GET', '/api/alerts/silences?limit=500', t.viewer.token),
      200,
    );
    expect(listed.silences.map((row) => row.id)).toEqual(expect.arrayContaining([silence.id, scoped.id]));
    const ended = await okJson<{ active: boolean }>(
      await send('DELETE', `/api/alerts/silences/${silence.id}`, t.operator.token),
      200,
    );
    expect(ended.active).toBe(false);
    expect((await t.auditRows(silence.id)).map((row) => row.action)).toEqual([
      'alert_silences.create',
      'alert_silences.end',
    ]);
  });
});

describe('GET /api/alerts', () => {
  it('answers viewers with what fires and the history; needs credentials', async () => {
    expect((await call('/api/alerts')).status).toBe(401);
    const answer = await okJson<{ firing: unknown[]; events: unknown[]; nextCursor: string | null }>(
      await send('GET', '/api/alerts?limit=5', t.viewer.token),
      200,
    );
    expect(Array.isArray(answer.firing)).toBe(true);
    expect(answer.events.length).toBeLessThanOrEqual(5);
    for (const query of ['limit=0', 'limit=501', 'cursor=-1', 'cursor=abc', 'ruleId=nope']) {
      expect((await send('GET', `/api/alerts?${query}`, t.viewer.token)).status, query).toBe(400);
    }
    for (const query of ['status=lost', 'channelId=1', 'cursor=0x10']) {
      expect((await send('GET', `/api/alerts/deliveries?${query}`, t.viewer.token)).status, query).toBe(400);
    }
  });

  it('the encryption key is needed for a channel with a URL: without it, 500 misconfigured and nothing stored', async () => {
    const response = await call('/api/alerts/channels', {
      method: 'POST',
      headers: bearer(t.admin.token),
      json: { kind: 'slack', name: t.name('nokey'), url: t.slackUrl },
      env: { WATCHTOWER_ENCRYPTION_KEY: undefined },
    });
    expect(response.status).toBe(500);
    expect((await errorOf(response)).code).toBe('misconfigured');
    expect(await t.count('watchtower_alert_channels', sql`name = ${t.name('nokey')}`)).toBe(0);
    expect(env.WATCHTOWER_ENCRYPTION_KEY).toBeTruthy();
  });
});
