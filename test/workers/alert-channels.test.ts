import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { loadKeyRing, sealedKeyId } from '../../core/crypto/sealed-secrets';
import { rowsOf } from '../../core/db/database';
import { alertChannels } from '../../drizzle/schema';
import { openChannelField, sealChannelField } from '../../functions/alerts/channel-secrets';
import { resealSecrets } from '../../functions/housekeeping/reseal-secrets';
import { type Channel, okJson, send, useAlertRoutes } from './support/alert-routes';
import { errorOf } from './support/api';

/**
 * /api/alerts/channels: only admins change them, URLs and secrets are sealed and never come back
 * out (answers, audit log, database), bad input changes nothing, a test notification is logged,
 * and a key rotation re-seals them.
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
