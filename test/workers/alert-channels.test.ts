import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKeyRing, sealedKeyId } from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import { alertChannels, alertDeliveries, alertEvents } from '../../drizzle/schema';
import { openChannelField, sealChannelField } from '../../functions/alerts/channel-secrets';
import { resealSecrets } from '../../functions/housekeeping/reseal-secrets';
import { type Channel, okJson, send, useAlertRoutes } from './support/alert-routes';
import { errorOf } from './support/api';

/**
 * /api/alerts/channels: only admins change them, URLs and secrets are sealed and never come back
 * out (answers, audit log, database), bad input changes nothing, a test notification is logged,
 * each read carries the channel's newest delivery however long the log of the others, the history
 * and the log page back without overlap, and a key rotation re-seals them.
 */

const t = useAlertRoutes('alert-channels');

describe('alert channels', () => {
  it('only admins create them; URLs and secrets are sealed and never returned, read or audited', async () => {
    const body = { kind: 'webhook', name: t.name('hook'), url: t.hookUrl, secret: t.hookSecret };
    expect((await send('POST', '/api/alerts/channels', t.operator.token, body)).status).toBe(403);
    expect((await send('POST', '/api/alerts/channels', t.viewer.token, body)).status).toBe(403);
    expect(await t.count('watchtower_alert_channels', sql`name = ${t.name('hook')}`)).toBe(0);

    const createdResponse = await send('POST', '/api/alerts/channels', t.admin.token, body);
    const createdText = await createdResponse.clone().text();
    const hook = await okJson<Channel>(createdResponse, 201);
    expect(hook).toMatchObject({ kind: 'webhook', hasUrl: true, hasSecret: true, to: null });
    const slack = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', t.admin.token, {
        kind: 'slack',
        name: t.name('slack'),
        url: t.slackUrl,
      }),
      201,
    );
    expect(slack).toMatchObject({ hasUrl: true, hasSecret: false });

    const reads = [
      createdText,
      await (await send('GET', '/api/alerts/channels?limit=500', t.viewer.token)).text(),
      await (await send('GET', `/api/alerts/channels/${hook.id}`, t.viewer.token)).text(),
      await (await send('GET', `/api/alerts/channels/${slack.id}`, t.viewer.token)).text(),
      JSON.stringify(await t.auditRows(hook.id)),
      JSON.stringify(await t.auditRows(slack.id)),
    ];
    // What a leaked database dump would show: sealed values only.
    const raw = rowsOf<{ row: string }>(
      await t.database.db.execute(
        sql`select row_to_json(c)::text as row from watchtower_alert_channels c where id in (${hook.id}, ${slack.id})`,
      ),
    ).map((row) => row.row);
    expect(raw).toHaveLength(2);
    for (const text of [...reads, ...raw]) {
      expect(text).not.toContain('refused-hook-path-credential');
      expect(text).not.toContain('slack-credential');
      expect(text).not.toContain(t.hookSecret);
    }
    expect(raw.join('\n')).toMatch(/"url_sealed":"v1\.[0-9a-f]{8}\./);
    const audit = await t.auditRows(hook.id);
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'alert_channels.create',
        actor_id: t.admin.id,
        details: expect.objectContaining({ kind: 'webhook', url: true, secret: true }),
      }),
    ]);
  });

  it('refuses bad channels with a 400 naming the field, and stores nothing', async () => {
    const before = await t.count('watchtower_alert_channels');
    const bad: [string, unknown][] = [
      [
        'plain http to another machine',
        { kind: 'slack', name: t.name('bad1'), url: 'http://hooks.example.com/x' },
      ],
      [
        'a credential in the URL',
        { kind: 'slack', name: t.name('bad2'), url: 'https://user:pw@example.com/x' },
      ],
      [
        'another scheme',
        { kind: 'webhook', name: t.name('bad3'), url: 'file:///etc/passwd', secret: t.hookSecret },
      ],
      ['a short secret', { kind: 'webhook', name: t.name('bad4'), url: t.hookUrl, secret: 'short' }],
      ['no secret', { kind: 'webhook', name: t.name('bad5'), url: t.hookUrl }],
      [
        'a url on an email channel',
        { kind: 'email', name: t.name('bad6'), to: ['a@example.com'], url: t.hookUrl },
      ],
      ['a bad recipient', { kind: 'email', name: t.name('bad7'), to: ['not an address'] }],
      ['no recipients', { kind: 'email', name: t.name('bad8'), to: [] }],
      ['an unknown kind', { kind: 'pager', name: t.name('bad9'), url: t.hookUrl }],
      ['a NUL in the name', { kind: 'slack', name: 'a\u0000b', url: t.slackUrl }],
      [
        '__proto__',
        JSON.parse(`{"kind":"slack","name":"${t.name('bad10')}","url":"${t.slackUrl}","__proto__":{"x":1}}`),
      ],
    ];
    for (const [label, body] of bad) {
      const response = await send('POST', '/api/alerts/channels', t.admin.token, body);
      expect(response.status, label).toBe(400);
      const error = await errorOf(response);
      expect(error.code, label).toBe('bad_request');
      expect(JSON.stringify(error), label).not.toContain('credential');
    }
    expect(await t.count('watchtower_alert_channels')).toBe(before);
  });

  it('changes only what its kind has; an email channel has no URL to change', async () => {
    const email = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', t.admin.token, {
        kind: 'email',
        name: t.name('mail'),
        to: ['ops@example.com'],
      }),
      201,
    );
    expect(email).toMatchObject({ hasUrl: false, hasSecret: false, to: ['ops@example.com'] });
    const refused = await send('PATCH', `/api/alerts/channels/${email.id}`, t.admin.token, {
      url: t.slackUrl,
    });
    expect(refused.status).toBe(400);
    expect((await errorOf(refused)).message).toMatch(/url: not accepted for a email channel/);
    expect(
      (await send('PATCH', `/api/alerts/channels/${email.id}`, t.operator.token, { enabled: false })).status,
    ).toBe(403);
    const changed = await okJson<Channel & { enabled: boolean }>(
      await send('PATCH', `/api/alerts/channels/${email.id}`, t.admin.token, {
        to: ['a@example.com', 'b@example.com'],
        enabled: false,
      }),
      200,
    );
    expect(changed).toMatchObject({ to: ['a@example.com', 'b@example.com'], enabled: false });
    const audit = await t.auditRows(email.id);
    expect(audit.map((row) => row.action)).toEqual(['alert_channels.create', 'alert_channels.update']);
    expect(audit[1]?.details).toMatchObject({ changes: { enabled: { from: true, to: false } } });
  });

  it('a test notification to a receiver that refuses is logged as failed with the reason, not the URL', async () => {
    const hook = await okJson<Channel>(
      await send('POST', '/api/alerts/channels', t.admin.token, {
        kind: 'webhook',
        name: t.name('refused'),
        url: t.hookUrl,
        secret: t.hookSecret,
      }),
      201,
    );
    expect((await send('POST', `/api/alerts/channels/${hook.id}/test`, t.operator.token)).status).toBe(403);
    const delivery = await okJson<{
      id: number;
      status: string;
      attempts: number;
      lastError: string;
      type: string;
    }>(await send('POST', `/api/alerts/channels/${hook.id}/test`, t.admin.token), 200);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, type: 'test', eventId: null });
    expect(delivery.lastError).toMatch(/could not send|no answer/);
    expect(delivery.lastError).not.toContain('credential');
    const log = await okJson<{ deliveries: { id: number; status: string }[] }>(
      await send('GET', `/api/alerts/deliveries?channelId=${hook.id}`, t.viewer.token),
      200,
    );
    expect(log.deliveries.map((row) => row.id)).toEqual([delivery.id]);
    expect((await t.auditRows(hook.id)).map((row) => row.action)).toEqual([
      'alert_channels.create',
      'alert_channels.test',
    ]);
  });
});

interface LastDelivery {
  id: number;
  at: string;
  status: string;
  attempts: number;
  type: string | null;
  eventId: number | null;
  httpStatus: number | null;
  error: string | null;
}

type ChannelWithDelivery = Channel & { lastDelivery: LastDelivery | null };

async function createEmailChannel(part: string): Promise<ChannelWithDelivery> {
  return okJson<ChannelWithDelivery>(
    await send('POST', '/api/alerts/channels', t.admin.token, {
      kind: 'email',
      name: t.name(part),
      to: ['ops@example.com'],
    }),
    201,
  );
}

/** Deliveries as the cron writes them, in this order (ids ascending), returned with their ids. */
async function insertDeliveries(
  rows: Array<{
    channel: ChannelWithDelivery;
    status: 'pending' | 'sending' | 'sent' | 'failed';
    attempts?: number;
    eventId?: number | null;
    lastStatus?: number | null;
    lastError?: string | null;
    lastAttemptAt?: Date | null;
    type?: string;
  }>,
): Promise<number[]> {
  const inserted = await t.database.db
    .insert(alertDeliveries)
    .values(
      rows.map((row) => ({
        channelId: row.channel.id,
        channelName: row.channel.name,
        eventId: row.eventId ?? null,
        status: row.status,
        attempts: row.attempts ?? 1,
        lastAttemptAt: row.lastAttemptAt ?? null,
        lastStatus: row.lastStatus ?? null,
        lastError: row.lastError ?? null,
        payload: { type: row.type ?? 'alert.firing' },
      })),
    )
    .returning({ id: alertDeliveries.id });
  return inserted.map((row) => Number(row.id));
}

async function listedChannel(id: string): Promise<ChannelWithDelivery | undefined> {
  const list = await okJson<{ channels: ChannelWithDelivery[] }>(
    await send('GET', '/api/alerts/channels?limit=500', t.viewer.token),
    200,
  );
  return list.channels.find((channel) => channel.id === id);
}

describe("a channel's last delivery", () => {
  it('is null before the first, on the create answer, the list and the read of one', async () => {
    const quiet = await createEmailChannel('quiet');
    expect(quiet.lastDelivery).toBeNull();
    expect((await listedChannel(quiet.id))?.lastDelivery).toBeNull();
    const one = await okJson<ChannelWithDelivery>(
      await send('GET', `/api/alerts/channels/${quiet.id}`, t.viewer.token),
      200,
    );
    expect(one.lastDelivery).toBeNull();
  });

  it("is each channel's newest delivery, with its outcome, on every read", async () => {
    const flaky = await createEmailChannel('flaky');
    const healthy = await createEmailChannel('healthy');
    const attemptAt = new Date(Date.now() - 3_600_000);
    const ids = await insertDeliveries([
      { channel: flaky, status: 'sent', lastStatus: 200 },
      { channel: healthy, status: 'failed', attempts: 5, lastError: 'HTTP 503 from the receiver' },
      {
        channel: flaky,
        status: 'failed',
        attempts: 5,
        eventId: 4242,
        lastStatus: 500,
        lastError: 'HTTP 500 from the receiver',
        lastAttemptAt: attemptAt,
      },
      { channel: healthy, status: 'sent', lastStatus: 202, type: 'test' },
    ]);
    expect((await listedChannel(flaky.id))?.lastDelivery).toEqual({
      id: ids[2],
      at: attemptAt.toISOString(),
      status: 'failed',
      attempts: 5,
      type: 'alert.firing',
      eventId: 4242,
      httpStatus: 500,
      error: 'HTTP 500 from the receiver',
    });
    expect((await listedChannel(healthy.id))?.lastDelivery).toMatchObject({
      id: ids[3],
      status: 'sent',
      type: 'test',
      eventId: null,
      httpStatus: 202,
      error: null,
    });
    // Not tried yet: `at` is when it was queued.
    const [queued] = await insertDeliveries([{ channel: healthy, status: 'pending', attempts: 0 }]);
    const read = await okJson<ChannelWithDelivery>(
      await send('GET', `/api/alerts/channels/${healthy.id}`, t.viewer.token),
      200,
    );
    expect(read.lastDelivery).toMatchObject({ id: queued, status: 'pending', attempts: 0 });
    expect(Date.parse(read.lastDelivery?.at ?? '')).toBeGreaterThan(Date.now() - 600_000);
    const patched = await okJson<ChannelWithDelivery>(
      await send('PATCH', `/api/alerts/channels/${flaky.id}`, t.admin.token, { enabled: false }),
      200,
    );
    expect(patched.lastDelivery?.id).toBe(ids[2]);
  });

  it('shows a failing channel whose delivery is older than the newest 50 of the log', async () => {
    const failing = await createEmailChannel('failing');
    const busy = await createEmailChannel('busy');
    const [failed] = await insertDeliveries([
      { channel: failing, status: 'failed', attempts: 5, lastError: 'no answer within 5 s' },
    ]);
    const newer = await insertDeliveries(
      Array.from({ length: 60 }, () => ({ channel: busy, status: 'sent' as const, lastStatus: 200 })),
    );
    // The log's first page no longer holds it...
    const log = await okJson<{ deliveries: { id: number }[] }>(
      await send('GET', '/api/alerts/deliveries?limit=50', t.viewer.token),
      200,
    );
    expect(log.deliveries.map((row) => row.id)).not.toContain(failed);
    // ...the channel's own read does.
    expect((await listedChannel(failing.id))?.lastDelivery).toMatchObject({
      id: failed,
      status: 'failed',
      error: 'no answer within 5 s',
    });
    expect((await listedChannel(busy.id))?.lastDelivery?.id).toBe(newer.at(-1));
  });

  it('is described in the OpenAPI document', async () => {
    const document = await okJson<{
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    }>(await send('GET', '/api/openapi.json', t.viewer.token), 200);
    const channel = document.components.schemas.AlertChannel;
    expect(channel?.required).toContain('lastDelivery');
    expect(JSON.stringify(channel?.properties?.lastDelivery)).toContain('AlertChannelLastDelivery');
    expect(
      Object.keys(document.components.schemas.AlertChannelLastDelivery?.properties ?? {}).sort(),
    ).toEqual(['at', 'attempts', 'error', 'eventId', 'httpStatus', 'id', 'status', 'type']);
  });

  it('keeps one row per channel, so the channel pages neither repeat nor skip one', async () => {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: { channels: ChannelWithDelivery[]; nextCursor: string | null } = await okJson(
        await send('GET', `/api/alerts/channels?limit=2${query}`, t.viewer.token),
        200,
      );
      expect(page.channels.length).toBeLessThanOrEqual(2);
      names.push(...page.channels.map((channel) => channel.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(names).size).toBe(names.length);
    const mine = names.filter((name) => name.startsWith(t.prefix));
    expect(mine).toEqual(expect.arrayContaining([t.name('flaky'), t.name('busy'), t.name('failing')]));
  });
});

describe('paging the history and the delivery log', () => {
  const ruleId = crypto.randomUUID();

  afterAll(async () => {
    await t.database.db.delete(alertEvents).where(eq(alertEvents.ruleId, ruleId));
  });

  it('pages the delivery log back by its cursor, without overlap, and refuses a bad cursor', async () => {
    const channel = await createEmailChannel('paged');
    const ids = await insertDeliveries(
      Array.from({ length: 7 }, () => ({ channel, status: 'sent' as const, lastStatus: 200 })),
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page: { deliveries: { id: number }[]; nextCursor: string | null } = await okJson(
        await send('GET', `/api/alerts/deliveries?channelId=${channel.id}&limit=3${query}`, t.viewer.token),
        200,
      );
      seen.push(...page.deliveries.map((row) => row.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    for (const bad of ['abc', '0', '-1', '1.5']) {
      const response = await send('GET', `/api/alerts/deliveries?cursor=${bad}`, t.viewer.token);
      expect(response.status, bad).toBe(400);
      expect((await errorOf(response)).message, bad).toMatch(/cursor/);
    }
  });

  it('pages the alert history back by its cursor, without overlap, and refuses a bad cursor', async () => {
    const inserted = await t.database.db
      .insert(alertEvents)
      .values(
        Array.from({ length: 5 }, (_, index) => ({
          ruleId,
          ruleName: t.name('paged-rule'),
          kind: 'host_down' as const,
          subject: `host-${index}`,
          event: 'firing' as const,
          message: `host-${index} is down`,
        })),
      )
      .returning({ id: alertEvents.id });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page: { events: { id: number }[]; nextCursor: string | null } = await okJson(
        await send('GET', `/api/alerts?ruleId=${ruleId}&limit=2${query}`, t.viewer.token),
        200,
      );
      expect(page.events.length).toBeLessThanOrEqual(2);
      seen.push(...page.events.map((row) => row.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(inserted.map((row) => Number(row.id)).reverse());
    const response = await send('GET', '/api/alerts?cursor=not-a-cursor', t.viewer.token);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/cursor/);
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
    await t.database.db.insert(alertChannels).values({
      id,
      name: t.name('rotated'),
      kind: 'webhook',
      urlSealed: await sealChannelField(a, id, 'url', t.hookUrl),
      secretSealed: await sealChannelField(a, id, 'secret', t.hookSecret),
      createdBy: 'test:rotation',
      updatedBy: 'test:rotation',
    });
    const summary = await resealSecrets.run({
      db: t.database.db,
      get bus(): never {
        throw new Error('the re-sealing step needs no bus');
      },
      env: { ...env, WATCHTOWER_ENCRYPTION_KEY: keyB, WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: keyA },
    });
    expect(summary).toMatch(/alert channels re-sealed [1-9]/);
    const [row] = await t.database.db.select().from(alertChannels).where(eq(alertChannels.id, id));
    expect(sealedKeyId(row?.urlSealed ?? '')).toBe(b.current.id);
    expect(sealedKeyId(row?.secretSealed ?? '')).toBe(b.current.id);
    expect(await openChannelField(b, id, 'url', row?.urlSealed ?? '')).toBe(t.hookUrl);
    expect(await openChannelField(b, id, 'secret', row?.secretSealed ?? '')).toBe(t.hookSecret);
  });
});
