import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';
import {
  type ApiInWorkerd,
  buildWorkerBundle,
  startApiInWorkerd,
  type WorkerBundle,
} from '../support/api-in-workerd';
import { recreateDatabase, suffixedDatabaseUrl } from '../support/fresh-database';
import { type HttpReceiver, type ReceivedRequest, startHttpReceiver } from '../support/http-receiver';
import { type LocalStack, startLocalStack } from '../support/local-stack';
import { type PrivateRedis, startPrivateRedis } from '../worker-host/fixtures/recorder-harness';
import {
  cliEnv,
  type HostProcess,
  killAllHosts,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  writeConfig,
} from '../worker-host/harness';

/**
 * Alerts end to end: the Cloudflare Worker (the bundle wrangler would deploy, in workerd) runs its
 * cron on demand; a real worker-host checks a Redis of this test's own, records a queue's jobs and
 * beats; local HTTP receivers stand in for a webhook endpoint and for the email provider's API.
 * Nothing here waits for a fixed time: each step waits for the state it needs (a health row, a
 * heartbeat's age), then runs the cron and looks at what it did.
 *
 * Its own database, so no other file's cron evaluates these rules or other hosts count.
 */

const databaseUrl = suffixedDatabaseUrl(testEnv.databaseUrl, 'alerts_e2e');
const adminToken = 'wt_e2e_alerts_admin_0123456789abcdef0123';
const secret = `signing-${randomBytes(12).toString('hex')}`;
const emailKey = `re_test_${randomBytes(8).toString('hex')}`;
const label = uniqueName('alerts-label');
const queueName = uniqueName('alerts-q');
/** Each step waits for states (hosts starting, heartbeats ageing), never for a time: room for a slow machine. */
const STEP_TIMEOUT_MS = 180_000;

let bundle: WorkerBundle;
let stack: LocalStack;
let api: ApiInWorkerd;
let spare: PrivateRedis;
let hook: HttpReceiver;
let refusing: HttpReceiver;
let email: HttpReceiver;
let host: HostProcess;
let configPath: string;
const database = createNodeDatabase(databaseUrl, { max: 2 });
const scratch = scratchDir();
const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
queue.on('error', () => undefined);

async function startTheHost(): Promise<HostProcess> {
  return startHost(configPath, database.db, {
    env: cliEnv({ DATABASE_URL: databaseUrl }),
    args: [`--labels=${label}`],
  });
}

beforeAll(async () => {
  // This file's own database, made afresh: what an earlier run left (rules, channels to receivers
  // long gone) would be evaluated and sent to by this run's cron.
  await recreateDatabase(databaseUrl);
  [bundle, stack, spare, hook, refusing, email] = await Promise.all([
    buildWorkerBundle(),
    startLocalStack({
      relayPort: 0,
      upstashPort: 0,
      upstashToken: testEnv.upstashToken,
      redisUrl: testEnv.redisUrl,
    }),
    startPrivateRedis(),
    startHttpReceiver(),
    startHttpReceiver(),
    startHttpReceiver(),
  ]);
  refusing.answer(500);
  configPath = writeConfig(
    scratch.dir,
    [{ name: uniqueName('alerts-sup'), queues: [queueName] }],
    { healthInterval: 0.5 },
    { connections: { spare: { url: spare.url } } },
  );
  [host, api] = await Promise.all([
    startTheHost(),
    startApiInWorkerd(bundle, {
      DATABASE_URL: databaseUrl,
      WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${stack.relayPort}`,
      WATCHTOWER_ADMIN_TOKEN: adminToken,
      WATCHTOWER_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      WATCHTOWER_RESEND_API_KEY: emailKey,
      WATCHTOWER_ALERT_EMAIL_FROM: 'Watchtower <alerts@example.test>',
      WATCHTOWER_RESEND_API_URL: email.url,
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await killAllHosts();
  await Promise.all([
    api?.close(),
    queue.close(),
    spare?.destroy(),
    hook?.close(),
    refusing?.close(),
    email?.close(),
  ]);
  await stack?.close();
  await database.close();
  bundle?.cleanup();
  scratch.cleanup();
});

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, checked by the assertions.
async function api200(method: string, path: string, body?: unknown, status = 200): Promise<any> {
  const response = await api.request(method, path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  return response.body;
}

async function cron(): Promise<void> {
  const { outcome } = await api.scheduled();
  expect(outcome).toBe('ok');
}

/** The newest health row of the host's check of `spare`. */
async function spareUp(): Promise<boolean | undefined> {
  const rows = rowsOf<{ up: boolean }>(
    await database.db.execute(sql`
      select up from watchtower_connection_health where host_id = ${host.hostId} and connection = 'spare'
      order by minute desc limit 1`),
  );
  return rows[0]?.up;
}

async function waitForSpare(up: boolean): Promise<void> {
  await waitFor(
    async () => (await spareUp()) === up,
    30_000,
    `the host to record spare as ${up ? 'up' : 'down'}`,
  );
}

/** The state of the rule's alert on `subject` (the first subject when not given). */
async function stateOf(ruleId: string, subject?: string): Promise<string | undefined> {
  const rows = rowsOf<{ state: string }>(
    await database.db.execute(
      subject === undefined
        ? sql`select state from watchtower_alerts where rule_id = ${ruleId} order by subject limit 1`
        : sql`select state from watchtower_alerts where rule_id = ${ruleId} and subject = ${subject}`,
    ),
  );
  return rows[0]?.state;
}

/** Runs the cron until the rule's alert is in `state`; returns how many runs that took. */
async function cronUntil(
  ruleId: string,
  state: string,
  what: string,
  options: { timeoutMs?: number; subject?: string } = {},
): Promise<number> {
  let runs = 0;
  await waitFor(
    async () => {
      await cron();
      runs++;
      return (await stateOf(ruleId, options.subject)) === state;
    },
    options.timeoutMs ?? 60_000,
    what,
  );
  return runs;
}

/** A webhook request's signature checked as a receiver would (README: verifying webhooks). */
function verified(request: ReceivedRequest): boolean {
  const timestamp = String(request.headers['x-watchtower-timestamp'] ?? '');
  const signature = String(request.headers['x-watchtower-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`;
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return (
    fresh &&
    signature.length === expected.length &&
    timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
  );
}

// biome-ignore lint/suspicious/noExplicitAny: a notification's JSON.
function notificationsOf(receiver: HttpReceiver, ruleId: string): any[] {
  return receiver.received
    .map((request) => ({ request, body: JSON.parse(request.body) }))
    .filter(({ body }) => body.rule?.id === ruleId)
    .map(({ request, body }) => ({ ...body, signed: verified(request) }));
}

describe('alerts end to end', () => {
  let hookChannel: string;
  let refusingChannel: string;

  it(
    'channels: a test notification reaches a signed webhook and the email stand-in',
    async () => {
      hookChannel = (
        await api200(
          'POST',
          '/api/alerts/channels',
          { kind: 'webhook', name: uniqueName('hook'), url: `${hook.url}/hook`, secret },
          201,
        )
      ).id;
      refusingChannel = (
        await api200(
          'POST',
          '/api/alerts/channels',
          { kind: 'webhook', name: uniqueName('refusing'), url: `${refusing.url}/x`, secret },
          201,
        )
      ).id;
      const tested = await api200('POST', `/api/alerts/channels/${hookChannel}/test`);
      expect(tested).toMatchObject({ status: 'sent', attempts: 1, lastStatus: 200, type: 'test' });
      const [request] = hook.received;
      expect(request?.path).toBe('/hook');
      expect(request && verified(request)).toBe(true);
      expect(JSON.parse(request?.body ?? '{}')).toMatchObject({ type: 'test', eventId: null });
      // A tampered body does not verify.
      expect(request && verified({ ...request, body: request.body.replace('test', 'tset') })).toBe(false);

      const mail = await api200(
        'POST',
        '/api/alerts/channels',
        { kind: 'email', name: uniqueName('mail'), to: ['ops@example.test'] },
        201,
      );
      expect(await api200('POST', `/api/alerts/channels/${mail.id}/test`)).toMatchObject({ status: 'sent' });
      const [sent] = email.received;
      expect(sent).toMatchObject({ method: 'POST', path: '/emails' });
      expect(sent?.headers.authorization).toBe(`Bearer ${emailKey}`);
      expect(JSON.parse(sent?.body ?? '{}')).toMatchObject({
        from: 'Watchtower <alerts@example.test>',
        to: ['ops@example.test'],
        subject: 'Watchtower: test notification',
      });
      // Slack's incoming-webhook shape: text, and blocks.
      const slack = await api200(
        'POST',
        '/api/alerts/channels',
        { kind: 'slack', name: uniqueName('slack'), url: `${hook.url}/slack` },
        201,
      );
      expect(await api200('POST', `/api/alerts/channels/${slack.id}/test`)).toMatchObject({ status: 'sent' });
      const slackRequest = hook.received.find((request) => request.path === '/slack');
      const slackBody = JSON.parse(slackRequest?.body ?? '{}');
      expect(slackBody.text).toMatch(/^Watchtower: test notification\n/);
      expect(slackBody.blocks).toContainEqual({
        type: 'section',
        text: { type: 'mrkdwn', text: '*Watchtower: test notification*' },
      });
      expect(slackRequest?.headers['x-watchtower-signature']).toBeUndefined();

      const failed = await api200('POST', `/api/alerts/channels/${refusingChannel}/test`);
      expect(failed).toMatchObject({ status: 'failed', lastStatus: 500 });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'flapping is damped: down and up by turns never fires',
    async () => {
      const rule = await api200(
        'POST',
        '/api/alerts/rules',
        {
          name: uniqueName('spare-flapping'),
          kind: 'connection_down',
          scope: { type: 'connection', connection: 'spare' },
          channelIds: [hookChannel],
        },
        201,
      );
      await waitForSpare(true);
      for (let turn = 0; turn < 2; turn++) {
        await spare.stop();
        await waitForSpare(false);
        await cron();
        expect(await stateOf(rule.id)).toBe('ok');
        await spare.start();
        await waitForSpare(true);
        await cron();
        expect(await stateOf(rule.id)).toBe('ok');
      }
      expect((await api200('GET', `/api/alerts?ruleId=${rule.id}`)).events).toEqual([]);
      expect(notificationsOf(hook, rule.id)).toEqual([]);
      await api200('PATCH', `/api/alerts/rules/${rule.id}`, { enabled: false });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'connection_down fires within 2 evaluations of a stopped Redis, signed, and resolves once it is back; a silenced rule records and sends nothing',
    async () => {
      const rule = await api200(
        'POST',
        '/api/alerts/rules',
        {
          name: uniqueName('spare-down'),
          kind: 'connection_down',
          scope: { type: 'connection', connection: 'spare' },
          forEvaluations: 2,
          channelIds: [refusingChannel, hookChannel],
        },
        201,
      );
      const silenced = await api200(
        'POST',
        '/api/alerts/rules',
        {
          name: uniqueName('spare-down-silenced'),
          kind: 'connection_down',
          scope: { type: 'host', label },
          channelIds: [hookChannel],
        },
        201,
      );
      const silence = await api200(
        'POST',
        '/api/alerts/silences',
        {
          ruleId: silenced.id,
          endsAt: new Date(Date.now() + 3_600_000).toISOString(),
          reason: 'planned work',
        },
        201,
      );
      await waitForSpare(true);
      await cron();
      expect(await stateOf(rule.id)).toBe('ok');

      await spare.stop();
      await waitForSpare(false);
      await cron();
      await cron();
      expect(await stateOf(rule.id)).toBe('firing');
      expect(await stateOf(silenced.id, 'spare')).toBe('firing');
      // The cron sends in the same run: the receiver has it, signed, although the other channel failed.
      const [firing] = notificationsOf(hook, rule.id);
      expect(firing).toMatchObject({
        type: 'alert.firing',
        state: 'firing',
        subject: 'spare',
        rule: { id: rule.id, name: rule.name, kind: 'connection_down' },
        signed: true,
      });
      expect(firing.message).toMatch(/Connection spare is down/);
      const refused = await api200(
        'GET',
        `/api/alerts/deliveries?channelId=${refusingChannel}&status=pending`,
      );
      expect(refused.deliveries).toContainEqual(
        expect.objectContaining({ eventId: firing.eventId, attempts: 1, lastStatus: 500, status: 'pending' }),
      );
      const now = await api200('GET', '/api/alerts');
      expect(now.firing).toContainEqual(
        expect.objectContaining({ ruleId: rule.id, subject: 'spare', silenced: false }),
      );
      expect(now.firing).toContainEqual(expect.objectContaining({ ruleId: silenced.id, silenced: true }));

      await spare.start();
      await waitForSpare(true);
      await cronUntil(rule.id, 'resolved', 'the alert to resolve', { timeoutMs: 30_000 });
      await waitFor(() => notificationsOf(hook, rule.id).length >= 2, 10_000, 'the resolved notification');
      const [, resolved] = notificationsOf(hook, rule.id);
      expect(resolved).toMatchObject({
        type: 'alert.resolved',
        state: 'resolved',
        subject: 'spare',
        signed: true,
      });
      expect(notificationsOf(hook, rule.id)).toHaveLength(2);

      // The silenced rule went through the same changes, recorded, and sent nothing.
      await cronUntil(silenced.id, 'resolved', 'the silenced alert to resolve', {
        timeoutMs: 30_000,
        subject: 'spare',
      });
      const history = await api200('GET', `/api/alerts?ruleId=${silenced.id}`);
      expect(
        history.events.map((event: { event: string; silenceId: string }) => [event.event, event.silenceId]),
      ).toEqual([
        ['resolved', silence.id],
        ['firing', silence.id],
      ]);
      expect(notificationsOf(hook, silenced.id)).toEqual([]);
      await api200('PATCH', `/api/alerts/rules/${rule.id}`, { enabled: false });
      await api200('PATCH', `/api/alerts/rules/${silenced.id}`, { enabled: false });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'queue_wait fires while a paused queue holds jobs, and resolves once they run',
    async () => {
      const rule = await api200(
        'POST',
        '/api/alerts/rules',
        {
          name: uniqueName('waiting-too-long'),
          kind: 'queue_wait',
          scope: { type: 'queue', connection: 'default', queue: queueName },
          params: { seconds: 2 },
          channelIds: [hookChannel],
        },
        201,
      );
      await queue.pause();
      await queue.addBulk([1, 2, 3].map((n) => ({ name: `held-${n}`, data: {} })));
      await waitFor(
        async () => {
          const { queues } = await api200('GET', '/api/queues');
          const row = queues.find((q: { queue: string }) => q.queue === queueName);
          return row && row.states.waiting >= 3 && row.oldestWaitingAt !== null;
        },
        30_000,
        'the held jobs recorded as waiting',
      );
      await cronUntil(rule.id, 'firing', 'the wait alert to fire');
      await waitFor(() => notificationsOf(hook, rule.id).length >= 1, 10_000, 'the firing notification');
      expect(notificationsOf(hook, rule.id)[0]).toMatchObject({
        type: 'alert.firing',
        subject: `default/${queueName}`,
        signed: true,
      });

      await queue.resume();
      await cronUntil(rule.id, 'resolved', 'the wait alert to resolve once the jobs ran');
      await waitFor(() => notificationsOf(hook, rule.id).length >= 2, 10_000, 'the resolved notification');
      expect(notificationsOf(hook, rule.id)[1]).toMatchObject({ type: 'alert.resolved', signed: true });
      const counts = await queue.getJobCounts('completed', 'wait');
      expect(counts.completed).toBeGreaterThanOrEqual(3);
      await api200('PATCH', `/api/alerts/rules/${rule.id}`, { enabled: false });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'host_down fires when the host is killed, and resolves when a host is back',
    async () => {
      const rule = await api200(
        'POST',
        '/api/alerts/rules',
        {
          name: uniqueName('host-gone'),
          kind: 'host_down',
          scope: { type: 'host', label },
          params: { seconds: 5 },
          channelIds: [hookChannel],
        },
        201,
      );
      await cron();
      expect(await stateOf(rule.id)).toBe('ok');
      host.kill();
      await host.exited;
      await cronUntil(rule.id, 'firing', 'host_down to fire');
      await waitFor(() => notificationsOf(hook, rule.id).length >= 1, 10_000, 'the firing notification');
      const [firing] = notificationsOf(hook, rule.id);
      expect(firing).toMatchObject({ type: 'alert.firing', signed: true });
      expect(firing.message).toContain(host.hostId);

      host = await startTheHost();
      await cronUntil(rule.id, 'resolved', 'host_down to resolve');
      await waitFor(() => notificationsOf(hook, rule.id).length >= 2, 10_000, 'the resolved notification');
      expect(notificationsOf(hook, rule.id)[1]).toMatchObject({ type: 'alert.resolved', signed: true });
      expect(notificationsOf(hook, rule.id)[1].message).toContain(host.hostId);
    },
    STEP_TIMEOUT_MS,
  );
});
