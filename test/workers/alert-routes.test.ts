import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyRing, sealedKeyId } from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { alertChannels } from '../../drizzle/schema';
import { openChannelField, sealChannelField } from '../../functions/alerts/channel-secrets';
import { resealSecrets } from '../../functions/housekeeping/reseal-secrets';
import { bearer, type CreatedToken, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';

/**
 * /api/alerts/rules, /channels, /silences, /deliveries and GET /api/alerts: who may do what, what
 * the audit log says, bad input refused with nothing changed, and channel URLs and secrets never
 * coming back out. Every rule here is created disabled, so no cron run of another suite evaluates it.
 */

let database: NeonDatabaseHandle;
let admin: CreatedToken;
let operator: CreatedToken;
let viewer: CreatedToken;
const prefix = unique('alert-routes');
const SLACK_URL = `https://hooks.slack.com/services/T000/B000/${prefix}-slack-credential`;
const HOOK_URL = 'http://127.0.0.1:1/refused-hook-path-credential';
const HOOK_SECRET = `${prefix}-signing-secret-value`;

beforeAll(async () => {
  database = openTestDatabase();
  [admin, operator, viewer] = await Promise.all([
    createToken('admin'),
    createToken('operator'),
    createToken('viewer'),
  ]);
});

afterAll(async () => {
  const like = `${prefix}%`;
  await database.db.execute(sql`delete from watchtower_alert_silences where reason like ${like}`);
  await database.db.execute(sql`delete from watchtower_alert_rules where name like ${like}`);
  await database.db.execute(
    sql`delete from watchtower_alert_deliveries where channel_id in (select id from watchtower_alert_channels where name like ${like})`,
  );
  await database.db.execute(sql`delete from watchtower_alert_channels where name like ${like}`);
  await database.close();
});

function name(part: string): string {
  return `${prefix}-${part}`;
}

async function send(method: string, path: string, token: string, json?: unknown): Promise<Response> {
  return call(path, { method, headers: bearer(token), ...(json === undefined ? {} : { json }) });
}

async function okJson<T>(response: Response, status: number): Promise<T> {
  expect(response.status, await response.clone().text()).toBe(status);
  return response.json<T>();
}

async function count(table: string, where = sql`true`): Promise<number> {
  const rows = rowsOf<{ n: number | string }>(
    await database.db.execute(sql`select count(*) as n from ${sql.identifier(table)} where ${where}`),
  );
  return Number(rows[0]?.n ?? 0);
}

async function auditRows(
  targetId: string,
): Promise<{ action: string; actor_id: string; details: unknown }[]> {
  return rowsOf(
    await database.db.execute(
      sql`select action, actor_id, details from watchtower_audit_log where target_id = ${targetId} order by id`,
    ),
  );
}

interface Channel {
  id: string;
  name: string;
  kind: string;
  hasUrl: boolean;
  hasSecret: boolean;
  to: string[] | null;
}

interface Rule {
  id: string;
  name: string;
  kind: string;
  scope: unknown;
  params: Record<string, number>;
  forEvaluations: number;
  renotifyMinutes: number;
  channelIds: string[];
  enabled: boolean;
  version: number;
}

describe('alert channels', () => {
  it('only admins create them; URLs and secrets are sealed and never returned, read or audited', async () => {
    const body = { kind: 'webhook', name: name('hook'), url: HOOK_URL, secret: HOOK_SECRET };
    expect((await send('POST', '/api/alerts/channels', operator.token, body)).status).toBe(403);
    expect((await send('POST', '/api/alerts/channels', viewer.token, body)).status).toBe(403);
    expect(await count('watchtower_alert_channels', sql`name = ${name('hook')}`)).toBe(0);

    const createdResponse = await send('POST', '/api/alerts/channels', admin.token, body);
    const createdText = await createdResponse.clone().text();
    const hook = await okJson<Channel>(createdResponse, 201);
    expect(hook).toMatchObject({ kind: 'webhook', hasUrl: true, hasSecret: true, to: null });
    const slack = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', admin.token, {
        kind: 'slack',
        name: name('slack'),
        url: SLACK_URL,
      }),
      201,
    );
    expect(slack).toMatchObject({ hasUrl: true, hasSecret: false });

    const reads = [
      createdText,
      await (await send('GET', '/api/alerts/channels?limit=500', viewer.token)).text(),
      await (await send('GET', `/api/alerts/channels/${hook.id}`, viewer.token)).text(),
      await (await send('GET', `/api/alerts/channels/${slack.id}`, viewer.token)).text(),
      JSON.stringify(await auditRows(hook.id)),
      JSON.stringify(await auditRows(slack.id)),
    ];
    // What a leaked database dump would show: sealed values only.
    const raw = rowsOf<{ row: string }>(
      await database.db.execute(
        sql`select row_to_json(c)::text as row from watchtower_alert_channels c where id in (${hook.id}, ${slack.id})`,
      ),
    ).map((row) => row.row);
    expect(raw).toHaveLength(2);
    for (const text of [...reads, ...raw]) {
      expect(text).not.toContain('refused-hook-path-credential');
      expect(text).not.toContain('slack-credential');
      expect(text).not.toContain(HOOK_SECRET);
    }
    expect(raw.join('\n')).toMatch(/"url_sealed":"v1\.[0-9a-f]{8}\./);
    const audit = await auditRows(hook.id);
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'alert_channels.create',
        actor_id: admin.id,
        details: expect.objectContaining({ kind: 'webhook', url: true, secret: true }),
      }),
    ]);
  });

  it('refuses bad channels with a 400 naming the field, and stores nothing', async () => {
    const before = await count('watchtower_alert_channels');
    const bad: [string, unknown][] = [
      [
        'plain http to another machine',
        { kind: 'slack', name: name('bad1'), url: 'http://hooks.example.com/x' },
      ],
      [
        'a credential in the URL',
        { kind: 'slack', name: name('bad2'), url: 'https://user:pw@example.com/x' },
      ],
      [
        'another scheme',
        { kind: 'webhook', name: name('bad3'), url: 'file:///etc/passwd', secret: HOOK_SECRET },
      ],
      ['a short secret', { kind: 'webhook', name: name('bad4'), url: HOOK_URL, secret: 'short' }],
      ['no secret', { kind: 'webhook', name: name('bad5'), url: HOOK_URL }],
      [
        'a url on an email channel',
        { kind: 'email', name: name('bad6'), to: ['a@example.com'], url: HOOK_URL },
      ],
      ['a bad recipient', { kind: 'email', name: name('bad7'), to: ['not an address'] }],
      ['no recipients', { kind: 'email', name: name('bad8'), to: [] }],
      ['an unknown kind', { kind: 'pager', name: name('bad9'), url: HOOK_URL }],
      ['a NUL in the name', { kind: 'slack', name: 'a\u0000b', url: SLACK_URL }],
      [
        '__proto__',
        JSON.parse(`{"kind":"slack","name":"${name('bad10')}","url":"${SLACK_URL}","__proto__":{"x":1}}`),
      ],
    ];
    for (const [label, body] of bad) {
      const response = await send('POST', '/api/alerts/channels', admin.token, body);
      expect(response.status, label).toBe(400);
      const error = await errorOf(response);
      expect(error.code, label).toBe('bad_request');
      expect(JSON.stringify(error), label).not.toContain('credential');
    }
    expect(await count('watchtower_alert_channels')).toBe(before);
  });

  it('changes only what its kind has; an email channel has no URL to change', async () => {
    const email = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', admin.token, {
        kind: 'email',
        name: name('mail'),
        to: ['ops@example.com'],
      }),
      201,
    );
    expect(email).toMatchObject({ hasUrl: false, hasSecret: false, to: ['ops@example.com'] });
    const refused = await send('PATCH', `/api/alerts/channels/${email.id}`, admin.token, { url: SLACK_URL });
    expect(refused.status).toBe(400);
    expect((await errorOf(refused)).message).toMatch(/url: not accepted for a email channel/);
    expect(
      (await send('PATCH', `/api/alerts/channels/${email.id}`, operator.token, { enabled: false })).status,
    ).toBe(403);
    const changed = await okJson<Channel & { enabled: boolean }>(
      await send('PATCH', `/api/alerts/channels/${email.id}`, admin.token, {
        to: ['a@example.com', 'b@example.com'],
        enabled: false,
      }),
      200,
    );
    expect(changed).toMatchObject({ to: ['a@example.com', 'b@example.com'], enabled: false });
    const audit = await auditRows(email.id);
    expect(audit.map((row) => row.action)).toEqual(['alert_channels.create', 'alert_channels.update']);
    expect(audit[1]?.details).toMatchObject({ changes: { enabled: { from: true, to: false } } });
  });

  it('a test notification to a receiver that refuses is logged as failed with the reason, not the URL', async () => {
    const hook = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', admin.token, {
        kind: 'webhook',
        name: name('refused'),
        url: HOOK_URL,
        secret: HOOK_SECRET,
      }),
      201,
    );
    expect((await send('POST', `/api/alerts/channels/${hook.id}/test`, operator.token)).status).toBe(403);
    const delivery = await okJson<{
      id: number;
      status: string;
      attempts: number;
      lastError: string;
      type: string;
    }>(await send('POST', `/api/alerts/channels/${hook.id}/test`, admin.token), 200);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, type: 'test', eventId: null });
    expect(delivery.lastError).toMatch(/could not send|no answer/);
    expect(delivery.lastError).not.toContain('credential');
    const log = await okJson<{ deliveries: { id: number; status: string }[] }>(
      await send('GET', `/api/alerts/deliveries?channelId=${hook.id}`, viewer.token),
      200,
    );
    expect(log.deliveries.map((row) => row.id)).toEqual([delivery.id]);
    expect((await auditRows(hook.id)).map((row) => row.action)).toEqual([
      'alert_channels.create',
      'alert_channels.test',
    ]);
  });
});

describe('alert rules', () => {
  let channel: Channel;

  beforeAll(async () => {
    channel = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', admin.token, {
        kind: 'slack',
        name: name('rules-slack'),
        url: SLACK_URL,
      }),
      201,
    );
  });

  it('operators create and change them, viewers read them, every change is audited', async () => {
    const body = {
      name: name('queue-wait'),
      kind: 'queue_wait',
      scope: { type: 'queue', connection: 'default', queue: 'emails' },
      params: { seconds: 120 },
      channelIds: [channel.id],
      enabled: false,
    };
    expect((await send('POST', '/api/alerts/rules', viewer.token, body)).status).toBe(403);
    const rule = await okJson<Rule>(await send('POST', '/api/alerts/rules', operator.token, body), 201);
    // The defaults: two evaluations to change state, a reminder every hour.
    expect(rule).toMatchObject({ forEvaluations: 2, renotifyMinutes: 60, enabled: false, version: 1 });
    const read = await okJson<Rule>(await send('GET', `/api/alerts/rules/${rule.id}`, viewer.token), 200);
    expect(read).toEqual(rule);

    expect(
      (await send('PATCH', `/api/alerts/rules/${rule.id}`, viewer.token, { forEvaluations: 3 })).status,
    ).toBe(403);
    const changed = await okJson<Rule>(
      await send('PATCH', `/api/alerts/rules/${rule.id}`, operator.token, {
        forEvaluations: 3,
        params: { seconds: 300 },
      }),
      200,
    );
    expect(changed).toMatchObject({ forEvaluations: 3, params: { seconds: 300 }, version: 2 });

    expect((await send('DELETE', `/api/alerts/rules/${rule.id}`, viewer.token)).status).toBe(403);
    expect((await send('DELETE', `/api/alerts/rules/${rule.id}`, operator.token)).status).toBe(204);
    expect((await send('GET', `/api/alerts/rules/${rule.id}`, viewer.token)).status).toBe(404);

    const audit = await auditRows(rule.id);
    expect(audit.map((row) => row.action)).toEqual([
      'alert_rules.create',
      'alert_rules.update',
      'alert_rules.delete',
    ]);
    expect(audit.every((row) => row.actor_id === operator.id)).toBe(true);
    expect(audit[1]?.details).toMatchObject({
      changes: {
        forEvaluations: { from: 2, to: 3 },
        params: { from: { seconds: 120 }, to: { seconds: 300 } },
      },
    });
  });

  it('refuses rules that do not fit their kind, and changes nothing', async () => {
    const rule = await okJson<Rule>(
      await send('POST', '/api/alerts/rules', operator.token, {
        name: name('down'),
        kind: 'host_down',
        scope: { type: 'host', label: 'eu-west' },
        params: { seconds: 30 },
        enabled: false,
      }),
      201,
    );
    const rulesBefore = await count('watchtower_alert_rules');
    const bad: [string, unknown][] = [
      [
        'a queue scope for host_down',
        {
          name: name('x1'),
          kind: 'host_down',
          scope: { type: 'queue', connection: 'a', queue: 'b' },
          params: { seconds: 30 },
        },
      ],
      [
        'a host scope for queue_depth',
        {
          name: name('x2'),
          kind: 'queue_depth',
          scope: { type: 'host', label: 'x' },
          params: { waiting: 5 },
        },
      ],
      ["another kind's params", { name: name('x3'), kind: 'queue_depth', params: { seconds: 5 } }],
      ['no params', { name: name('x4'), kind: 'failure_rate' }],
      [
        'a percentage over 100',
        { name: name('x5'), kind: 'failure_rate', params: { percent: 101, minJobs: 10, minutes: 5 } },
      ],
      ['a fractional count', { name: name('x6'), kind: 'queue_depth', params: { waiting: 1.5 } }],
      ['host_down under 5 s', { name: name('x7'), kind: 'host_down', params: { seconds: 1 } }],
      ['forEvaluations 0', { name: name('x8'), kind: 'connection_down', forEvaluations: 0 }],
      [
        'an unknown channel',
        { name: name('x9'), kind: 'connection_down', channelIds: [crypto.randomUUID()] },
      ],
      [
        'a repeated channel',
        { name: name('x10'), kind: 'connection_down', channelIds: [channel.id, channel.id] },
      ],
      [
        'a channel id that is no uuid',
        { name: name('x11'), kind: 'connection_down', channelIds: ["' or 1=1 --"] },
      ],
      ['an unknown kind', { name: name('x12'), kind: 'cpu_high', params: {} }],
      [
        'a queue name with a space',
        {
          name: name('x13'),
          kind: 'queue_depth',
          scope: { type: 'queue', connection: 'a', queue: 'b c' },
          params: { waiting: 1 },
        },
      ],
      ['a name with a NUL', { name: 'a\u0000b', kind: 'connection_down' }],
      ['an unknown field', { name: name('x14'), kind: 'connection_down', severity: 'high' }],
    ];
    for (const [label, body] of bad) {
      const response = await send('POST', '/api/alerts/rules', operator.token, body);
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
      const response = await send('PATCH', `/api/alerts/rules/${rule.id}`, operator.token, patch);
      expect(response.status, label).toBe(400);
    }
    expect(await count('watchtower_alert_rules')).toBe(rulesBefore);
    expect(await okJson<Rule>(await send('GET', `/api/alerts/rules/${rule.id}`, viewer.token), 200)).toEqual(
      rule,
    );
    expect(
      (await send('PATCH', `/api/alerts/rules/${crypto.randomUUID()}`, operator.token, { enabled: false }))
        .status,
    ).toBe(404);
    const duplicate = await send('POST', '/api/alerts/rules', operator.token, {
      name: rule.name,
      kind: 'connection_down',
    });
    expect(duplicate.status).toBe(409);
  });

  it('deleting a channel takes it out of the rules that named it', async () => {
    const doomed = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', admin.token, {
        kind: 'slack',
        name: name('doomed'),
        url: SLACK_URL,
      }),
      201,
    );
    const rule = await okJson<Rule>(
      await send('POST', '/api/alerts/rules', operator.token, {
        name: name('uses-doomed'),
        kind: 'connection_down',
        channelIds: [channel.id, doomed.id],
        enabled: false,
      }),
      201,
    );
    expect((await send('DELETE', `/api/alerts/channels/${doomed.id}`, operator.token)).status).toBe(403);
    expect((await send('DELETE', `/api/alerts/channels/${doomed.id}`, admin.token)).status).toBe(204);
    const after = await okJson<Rule>(await send('GET', `/api/alerts/rules/${rule.id}`, viewer.token), 200);
    expect(after.channelIds).toEqual([channel.id]);
  });
});

describe('silences', () => {
  it('operators silence a rule or a scope until a time; bad times and targets are refused', async () => {
    const rule = await okJson<Rule>(
      await send('POST', '/api/alerts/rules', operator.token, {
        name: name('silenced'),
        kind: 'connection_down',
        enabled: false,
      }),
      201,
    );
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const body = { ruleId: rule.id, endsAt, reason: `${prefix} maintenance` };
    expect((await send('POST', '/api/alerts/silences', viewer.token, body)).status).toBe(403);
    const silence = await okJson<{ id: string; active: boolean; ruleId: string }>(
      await send('POST', '/api/alerts/silences', operator.token, body),
      201,
    );
    expect(silence).toMatchObject({ active: true, ruleId: rule.id });
    const scoped = await okJson<{ id: string; scope: unknown }>(
      await send('POST', '/api/alerts/silences', operator.token, {
        scope: { type: 'connection', connection: 'main-redis' },
        endsAt,
        reason: `${prefix} redis upgrade`,
      }),
      201,
    );
    expect(scoped.scope).toEqual({ type: 'connection', connection: 'main-redis' });

    const before = await count('watchtower_alert_silences');
    const bad: [string, unknown][] = [
      ['both a rule and a scope', { ...body, scope: { type: 'all' } }],
      ['neither', { endsAt, reason: `${prefix} x` }],
      ['an end in the past', { ...body, endsAt: new Date(Date.now() - 1000).toISOString() }],
      ['an end a year ahead', { ...body, endsAt: new Date(Date.now() + 365 * 86_400_000).toISOString() }],
      ['an end before the start', { ...body, startsAt: new Date(Date.now() + 7_200_000).toISOString() }],
      ['year 0', { ...body, endsAt: '0000-01-01T00:00:00Z' }],
      ['an unknown rule', { ...body, ruleId: crypto.randomUUID() }],
      ['no reason', { ruleId: rule.id, endsAt }],
      ['a reason with a NUL', { ...body, reason: 'a\u0000b' }],
    ];
    for (const [label, silenceBody] of bad) {
      expect((await send('POST', '/api/alerts/silences', operator.token, silenceBody)).status, label).toBe(
        400,
      );
    }
    expect(await count('watchtower_alert_silences')).toBe(before);

    const listed = await okJson<{ silences: { id: string }[] }>(
      await send('GET', '/api/alerts/silences?limit=500', viewer.token),
      200,
    );
    expect(listed.silences.map((row) => row.id)).toEqual(expect.arrayContaining([silence.id, scoped.id]));
    const ended = await okJson<{ active: boolean }>(
      await send('DELETE', `/api/alerts/silences/${silence.id}`, operator.token),
      200,
    );
    expect(ended.active).toBe(false);
    expect((await auditRows(silence.id)).map((row) => row.action)).toEqual([
      'alert_silences.create',
      'alert_silences.end',
    ]);
  });
});

describe('GET /api/alerts', () => {
  it('answers viewers with what fires and the history; needs credentials', async () => {
    expect((await call('/api/alerts')).status).toBe(401);
    const answer = await okJson<{ firing: unknown[]; events: unknown[]; nextCursor: string | null }>(
      await send('GET', '/api/alerts?limit=5', viewer.token),
      200,
    );
    expect(Array.isArray(answer.firing)).toBe(true);
    expect(answer.events.length).toBeLessThanOrEqual(5);
    for (const query of ['limit=0', 'limit=501', 'cursor=-1', 'cursor=abc', 'ruleId=nope']) {
      expect((await send('GET', `/api/alerts?${query}`, viewer.token)).status, query).toBe(400);
    }
    for (const query of ['status=lost', 'channelId=1', 'cursor=0x10']) {
      expect((await send('GET', `/api/alerts/deliveries?${query}`, viewer.token)).status, query).toBe(400);
    }
  });

  it('the encryption key is needed for a channel with a URL: without it, 500 misconfigured and nothing stored', async () => {
    const response = await call('/api/alerts/channels', {
      method: 'POST',
      headers: bearer(admin.token),
      json: { kind: 'slack', name: name('nokey'), url: SLACK_URL },
      env: { WATCHTOWER_ENCRYPTION_KEY: undefined },
    });
    expect(response.status).toBe(500);
    expect((await errorOf(response)).code).toBe('misconfigured');
    expect(await count('watchtower_alert_channels', sql`name = ${name('nokey')}`)).toBe(0);
    expect(env.WATCHTOWER_ENCRYPTION_KEY).toBeTruthy();
  });
});

describe('key rotation', () => {
  it("the cron re-seals a channel's URL and secret with the new key", async () => {
    const randomKey = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const keyA = randomKey();
    const keyB = randomKey();
    const a = await loadKeyRing({ current: keyA });
    const b = await loadKeyRing({ current: keyB });
    if (!a || !b) throw new Error('no key ring');
    const id = crypto.randomUUID();
    await database.db.insert(alertChannels).values({
      id,
      name: name('rotated'),
      kind: 'webhook',
      urlSealed: await sealChannelField(a, id, 'url', HOOK_URL),
      secretSealed: await sealChannelField(a, id, 'secret', HOOK_SECRET),
      createdBy: 'test:rotation',
      updatedBy: 'test:rotation',
    });
    const summary = await resealSecrets.run({
      db: database.db,
      get bus(): never {
        throw new Error('the re-sealing step needs no bus');
      },
      env: { ...env, WATCHTOWER_ENCRYPTION_KEY: keyB, WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: keyA },
    });
    expect(summary).toMatch(/alert channels re-sealed [1-9]/);
    const [row] = await database.db.select().from(alertChannels).where(eq(alertChannels.id, id));
    expect(sealedKeyId(row?.urlSealed ?? '')).toBe(b.current.id);
    expect(sealedKeyId(row?.secretSealed ?? '')).toBe(b.current.id);
    expect(await openChannelField(b, id, 'url', row?.urlSealed ?? '')).toBe(HOOK_URL);
    expect(await openChannelField(b, id, 'secret', row?.secretSealed ?? '')).toBe(HOOK_SECRET);
  });
});
