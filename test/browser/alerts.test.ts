import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, freePort, startDashboardStack } from './support/dashboard-stack';
import { collectAxeViolations, screenshotEverywhere, signInContext, viewerContext } from './support/pages';

/**
 * The Alerts page in Chromium, against the real Worker in `wrangler dev` and its Postgres, with a
 * real worker-host that health-checks a connection nobody listens on: an admin adds a webhook
 * channel pointing at a receiver of this test and sends a test through it (and one through a
 * channel whose receiver refuses, which the delivery log shows failing); adds a rule on the dead
 * connection; the cron (`/__scheduled`, as wrangler's --test-scheduled runs it) fires it, and the
 * nav's badge says so on another page; a silence is added and ended through the page; a viewer
 * sees no control; a phone gets cards; once the log holds more than a page, the broken channel
 * still reads failing, and the history and the log page back on their own. The scenarios run in
 * order and build on each other.
 */
let stack: DashboardStack;
let browser: TestBrowser;
let hook: HttpReceiver;
let refusing: HttpReceiver;
const WAIT = { timeout: 60_000, interval: 250 };

const CHANNEL = `ops-hook-${process.pid}`;
const BROKEN = `broken-hook-${process.pid}`;
const SECRET = `signing-secret-${Date.now()}`;
const RULE = `dead connection ${process.pid}`;
const REASON = `maintenance window ${process.pid}`;

interface FiringView {
  ruleId: string;
  ruleName: string;
  subject: string;
  silenced: boolean;
}

async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.baseURL}${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Runs the Worker's cron once, as Cloudflare would every minute. */
async function runCron(): Promise<void> {
  const response = await fetch(`${stack.baseURL}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
  expect(response.status).toBe(200);
  await response.text();
}

async function firing(): Promise<FiringView[]> {
  return (await apiGet<{ firing: FiringView[] }>('/api/alerts?limit=1')).firing;
}

beforeAll(async () => {
  [hook, refusing] = await Promise.all([startHttpReceiver(), startHttpReceiver()]);
  refusing.answer(500);
  // A port nothing listens on: the host checks this connection and records it down.
  const deadPort = await freePort();
  stack = await startDashboardStack('browser_alerts', {
    encryption: true,
    connections: { deadend: { url: `redis://127.0.0.1:${deadPort}` } },
    hostOptions: { healthInterval: 0.5 },
  });
  browser = await launchChromium(stack.baseURL);
}, 240_000);

afterAll(async () => {
  expect(pageErrors).toEqual([]);
  await browser?.close();
  await stack?.close();
  await Promise.all([hook?.close(), refusing?.close()]);
}, 60_000);

/** Uncaught errors in any page of the file: there must be none. */
const pageErrors: string[] = [];

async function adminPage(options: { phone?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext(options);
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function dialogClosed(page: Page): Promise<void> {
  await expect.poll(() => page.locator('dialog[open]').count(), WAIT).toBe(0);
}

function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
}

describe('the Alerts page in Chromium', { timeout: 240_000 }, () => {
  it('lets an admin add a webhook channel and send a test through it; a refusing receiver shows in the delivery log', async () => {
    const page = await adminPage();
    await page.goto('/');
    await page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: 'Alerts', exact: true })
      .click();
    await page.waitForURL(/\/alerts$/, WAIT);
    await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor(WAIT);
    await page.getByText('Nothing is firing.').waitFor(WAIT);
    // Nothing fires: no badge.
    expect(await page.getByRole('link', { name: /alerts? firing/ }).count()).toBe(0);

    for (const [name, receiver] of [
      [CHANNEL, hook],
      [BROKEN, refusing],
    ] as const) {
      await page.getByRole('button', { name: 'Add channel' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add a channel' });
      await dialog.waitFor(WAIT);
      await dialog.getByLabel('Name', { exact: true }).fill(name);
      await dialog.getByLabel('URL', { exact: true }).fill(`${receiver.url}/hook`);
      await dialog.getByLabel('Signing secret', { exact: true }).fill(SECRET);
      await dialog.getByRole('button', { name: 'Add channel' }).click();
      await dialogClosed(page);
      await page.getByText(`Added channel ${name}.`).waitFor(WAIT);
    }
    const row = page.locator(`tr[data-channel="${CHANNEL}"]`);
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('URL set, secret set');
    // Write-only: neither the secret nor the URL comes back to the page.
    expect(
      await page.evaluate(`document.documentElement.outerHTML.includes(${JSON.stringify(SECRET)})`),
    ).toBe(false);

    await row.getByRole('button', { name: `Send test to ${CHANNEL}` }).click();
    await row.getByText('Test sent (HTTP 200).').waitFor(WAIT);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.path).toBe('/hook');
    expect(JSON.parse(hook.received[0]?.body ?? '{}')).toMatchObject({ type: 'test' });

    const broken = page.locator(`tr[data-channel="${BROKEN}"]`);
    await broken.getByRole('button', { name: `Send test to ${BROKEN}` }).click();
    await broken.getByText(/Test failed: .*500/).waitFor(WAIT);
    expect(refusing.received).toHaveLength(1);
    // The delivery log: one sent, one failed, with the receiver's answer.
    const failed = page.locator(`tr[data-delivery="${BROKEN}"][data-status="failed"]`);
    await failed.waitFor(WAIT);
    expect(await failed.textContent()).toContain('HTTP 500');
    await page.locator(`tr[data-delivery="${CHANNEL}"][data-status="sent"]`).waitFor(WAIT);
    // Two deliveries and no event: nothing is cut, so no "Show all".
    expect(await page.getByRole('button', { name: /^Show all/ }).count()).toBe(0);
    // The channel's own row says how its last delivery went, in words.
    await page.locator(`tr[data-channel="${BROKEN}"][data-last-delivery="failing"]`).waitFor(WAIT);
    expect(await broken.locator('td[data-label="Last"]').textContent()).toMatch(/^Failing.*500/);
    await page.locator(`tr[data-channel="${CHANNEL}"][data-last-delivery="ok"]`).waitFor(WAIT);
    expect(await row.locator('td[data-label="Last"]').textContent()).toMatch(/^OK/);
    await page.context().close();
  });

  it('lets an admin add a rule, showing the API refusal by its field', async () => {
    const page = await adminPage();
    await page.goto('/alerts');
    await page.locator(`tr[data-channel="${CHANNEL}"]`).waitFor(WAIT);
    await page.getByRole('button', { name: 'Add rule' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an alert rule' });
    await dialog.waitFor(WAIT);
    await dialog.getByLabel('Name', { exact: true }).fill(RULE);
    // The kind picks the thresholds asked for: three for a failure rate, none for a connection down.
    await dialog.getByLabel('Kind', { exact: true }).selectOption('failure_rate');
    await dialog.getByLabel('More failed than (%)', { exact: true }).waitFor(WAIT);
    expect(await dialog.getByRole('group', { name: 'Thresholds' }).getByRole('spinbutton').count()).toBe(3);
    await dialog.getByLabel('Kind', { exact: true }).selectOption('connection_down');
    await expect.poll(() => dialog.getByRole('group', { name: 'Thresholds' }).count(), WAIT).toBe(0);
    await dialog.getByLabel('Watches', { exact: true }).selectOption('connection');
    await dialog.getByLabel('Connection', { exact: true }).fill('deadend');
    // Out of range: the API refuses it, and the message sits by the field.
    await dialog.getByLabel('Fires after (evaluations)', { exact: true }).fill('0');
    await dialog.getByLabel(CHANNEL, { exact: true }).check();
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    const forField = dialog.getByLabel('Fires after (evaluations)', { exact: true });
    await expect.poll(() => forField.getAttribute('aria-invalid'), WAIT).toBe('true');
    expect((await apiGet<{ rules: unknown[] }>('/api/alerts/rules')).rules).toHaveLength(0);

    await forField.fill('1');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialogClosed(page);
    await page.getByText(`Added rule ${RULE}.`).waitFor(WAIT);
    const { rules } = await apiGet<{ rules: Array<Record<string, unknown>> }>('/api/alerts/rules');
    const channels = await apiGet<{ channels: Array<{ id: string; name: string }> }>('/api/alerts/channels');
    const channelId = channels.channels.find((channel) => channel.name === CHANNEL)?.id;
    expect(rules).toEqual([
      expect.objectContaining({
        name: RULE,
        kind: 'connection_down',
        scope: { type: 'connection', connection: 'deadend' },
        forEvaluations: 1,
        renotifyMinutes: 60,
        channelIds: [channelId],
        enabled: true,
      }),
    ]);
    const row = page.locator(`tr[data-rule="${RULE}"]`);
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('connection deadend');

    // Changed through its dialog: the fields come filled in, and only what was changed changes.
    await row.getByRole('button', { name: `Edit ${RULE}` }).click();
    const edit = page.getByRole('dialog', { name: `Change rule ${RULE}` });
    await edit.waitFor(WAIT);
    expect(await edit.getByLabel('Connection', { exact: true }).inputValue()).toBe('deadend');
    expect(await edit.getByLabel(CHANNEL, { exact: true }).isChecked()).toBe(true);
    await edit.getByLabel('Notify again every (minutes)', { exact: true }).fill('30');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await dialogClosed(page);
    await page.getByText(`Saved rule ${RULE}.`).waitFor(WAIT);
    const changed = await apiGet<{ rules: Array<Record<string, unknown>> }>('/api/alerts/rules');
    expect(changed.rules[0]).toMatchObject({
      renotifyMinutes: 30,
      forEvaluations: 1,
      scope: { type: 'connection', connection: 'deadend' },
      channelIds: [channelId],
      version: (rules[0]?.version as number) + 1,
    });
    await page.context().close();
  });

  it('fires the rule when the cron runs: the badge shows on another page, the Alerts page lists it and its history', async () => {
    // The host records the dead connection down; each cron run evaluates the rule once.
    await expect
      .poll(
        async () => {
          await runCron();
          return (await firing()).map((alert) => alert.ruleName);
        },
        { timeout: 150_000, interval: 1_000 },
      )
      .toContain(RULE);
    // The rule's channel got the notification (the cron delivers, retrying on its own schedule).
    await expect
      .poll(
        async () => {
          if (!hook.received.some((request) => request.body.includes('alert.firing'))) await runCron();
          return hook.received.some((request) => request.body.includes('alert.firing'));
        },
        { timeout: 90_000, interval: 1_000 },
      )
      .toBe(true);

    const page = await adminPage();
    await page.goto('/health');
    const badge = page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: '1 alert firing', exact: true });
    await badge.waitFor(WAIT);
    expect(await badge.textContent()).toBe('1');
    await badge.click();
    await page.waitForURL(/\/alerts$/, WAIT);
    const alert = page.locator('tr[data-alert]').filter({ hasText: RULE });
    await alert.waitFor(WAIT);
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('deadend');
    expect(text).toContain('firing');
    expect(text).toContain('Connection deadend is down');
    await page
      .getByRole('region', { name: 'Recent alert events' })
      .locator('tr[data-event="firing"]')
      .filter({ hasText: RULE })
      .waitFor(WAIT);
    await page.context().close();
  });

  it('lets an operator silence the rule through the page, which the firing alert then shows, and end it', async () => {
    const page = await adminPage();
    await page.goto('/alerts');
    await page.locator(`tr[data-rule="${RULE}"]`).waitFor(WAIT);
    await page.getByRole('button', { name: 'Add silence' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a silence' });
    await dialog.waitFor(WAIT);
    // A time in the past: the API refuses it, by the field.
    await dialog.getByLabel('Until', { exact: true }).fill('2020-01-01T10:00');
    await dialog.getByLabel('Reason', { exact: true }).fill(REASON);
    await dialog.getByRole('button', { name: 'Add silence' }).click();
    await dialog.getByText('must be in the future').waitFor(WAIT);
    const soon = new Date(Date.now() + 3 * 3_600_000);
    const pad = (value: number) => String(value).padStart(2, '0');
    await dialog
      .getByLabel('Until', { exact: true })
      .fill(
        `${soon.getFullYear()}-${pad(soon.getMonth() + 1)}-${pad(soon.getDate())}T${pad(soon.getHours())}:${pad(soon.getMinutes())}`,
      );
    await dialog.getByRole('button', { name: 'Add silence' }).click();
    await dialogClosed(page);
    await page.getByText('Silence added.').waitFor(WAIT);
    const silences = await apiGet<{
      silences: Array<{ ruleId: string | null; reason: string; active: boolean }>;
    }>('/api/alerts/silences');
    const rules = await apiGet<{ rules: Array<{ id: string }> }>('/api/alerts/rules');
    expect(silences.silences).toEqual([
      expect.objectContaining({ ruleId: rules.rules[0]?.id, reason: REASON, active: true }),
    ]);
    const silenceRow = page.locator(`tr[data-silence="${REASON}"]`);
    await silenceRow.waitFor(WAIT);
    expect(await silenceRow.textContent()).toContain(`rule ${RULE}`);
    // The firing alert is covered by it now.
    await page.locator('tr[data-alert]').filter({ hasText: RULE }).getByText('silenced').waitFor(WAIT);

    await silenceRow.getByRole('button', { name: `End now: ${REASON}` }).click();
    const end = page.getByRole('dialog', { name: 'End this silence now?' });
    await end.getByRole('button', { name: 'End silence' }).click();
    await dialogClosed(page);
    await page.getByText('Silence ended: its alerts are sent again.').waitFor(WAIT);
    await expect
      .poll(async () => (await apiGet<{ silences: unknown[] }>('/api/alerts/silences')).silences, WAIT)
      .toEqual([]);
    await page.context().close();
  });

  it('shows a viewer every list without a single control', async () => {
    const context = await viewerContext(browser, stack);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto('/alerts');
    await page.locator(`tr[data-rule="${RULE}"]`).waitFor(WAIT);
    await page.locator(`tr[data-channel="${CHANNEL}"]`).waitFor(WAIT);
    await page.locator('tr[data-alert]').filter({ hasText: RULE }).waitFor(WAIT);
    await page.locator(`tr[data-delivery="${BROKEN}"]`).first().waitFor(WAIT);
    expect(await page.locator('main button').count()).toBe(0);
    // The badge is everyone's.
    await page.getByRole('link', { name: '1 alert firing', exact: true }).waitFor(WAIT);
    const forced = await context.request.post('/api/alerts/rules', {
      headers: { origin: stack.baseURL },
      data: { name: 'forced', kind: 'connection_down' },
    });
    expect(forced.status()).toBe(403);
    await context.close();
  });

  it('fits a phone: cards instead of a sideways scroll, the dialogs too', async () => {
    const page = await adminPage({ phone: true });
    await page.goto('/alerts');
    await page.locator('tr[data-alert]').filter({ hasText: RULE }).waitFor(WAIT);
    await page.locator(`tr[data-delivery="${BROKEN}"]`).first().waitFor(WAIT);
    expect(await sidewaysOverflow(page)).toBe(0);
    // No table's own box scrolls sideways either: their rows are cards.
    expect(
      await page.evaluate(
        `Math.max(...[...document.querySelectorAll('.table-scroll')].map((box) => box.scrollWidth - box.clientWidth))`,
      ),
    ).toBe(0);
    for (const [button, dialogName] of [
      ['Add rule', 'Add an alert rule'],
      ['Add silence', 'Add a silence'],
      ['Add channel', 'Add a channel'],
    ] as const) {
      await page.getByRole('button', { name: button }).click();
      await page.getByRole('dialog', { name: dialogName }).waitFor(WAIT);
      expect(
        await page.evaluate(
          `(() => { const dialog = document.querySelector('dialog[open]'); const box = dialog.getBoundingClientRect(); const parts = [...dialog.querySelectorAll('*')].map((element) => element.getBoundingClientRect().right); return Math.max(box.right - window.innerWidth, ...parts.map((right) => right - box.right)); })()`,
        ),
      ).toBeLessThanOrEqual(0);
      await page.keyboard.press('Escape');
      await dialogClosed(page);
    }
    await page.context().close();
  });

  it("shows a failing channel from its own last delivery once the log's first page no longer holds it, and pages the log and the history", async () => {
    const { channels } = await apiGet<{ channels: Array<{ id: string; name: string }> }>(
      '/api/alerts/channels',
    );
    const channel = channels.find((one) => one.name === CHANNEL);
    const { rules } = await apiGet<{ rules: Array<{ id: string; name: string }> }>('/api/alerts/rules');
    if (!channel || !rules[0]) throw new Error('the channel and the rule of the earlier scenarios');
    // More than a page of newer deliveries on the other channel, and of newer events.
    await stack.sql(
      `insert into watchtower_alert_deliveries (channel_id, channel_name, status, attempts, last_attempt_at, last_status, payload)
       select $1, $2, 'sent', 1, now(), 200, '{"type":"alert.renotify"}'::jsonb from generate_series(1, 60)`,
      [channel.id, channel.name],
    );
    await stack.sql(
      `insert into watchtower_alert_events (rule_id, rule_name, kind, subject, event, message)
       select $1, $2, 'connection_down', 'deadend', 'renotify', 'Connection deadend is down' from generate_series(1, 60)`,
      [rules[0].id, rules[0].name],
    );

    const page = await adminPage();
    await page.goto('/alerts');
    // Each long list shows its newest 10 rows, and a button for the rest of its page.
    const logPart = page.getByRole('region', { name: 'Delivery log', exact: true });
    const log = page.getByRole('region', { name: 'Newest deliveries', exact: true });
    const showLog = logPart.getByRole('button', { name: 'Show all 50 deliveries', exact: true });
    await showLog.waitFor(WAIT);
    expect(await log.locator('tr[data-delivery]').count()).toBe(10);
    expect(await showLog.getAttribute('aria-expanded')).toBe('false');
    const historyPart = page.getByRole('region', { name: 'Recent history', exact: true });
    const recent = page.getByRole('region', { name: 'Recent alert events', exact: true });
    await historyPart.getByRole('button', { name: 'Show all 50 events', exact: true }).waitFor(WAIT);
    expect(await recent.locator('tr[data-event]').count()).toBe(10);
    // Revealed in place, the focus on the first row revealed; then back to the newest 10.
    await showLog.click();
    await expect.poll(() => log.locator('tr[data-delivery]').count(), WAIT).toBe(50);
    expect(
      await page.evaluate(
        `[...document.activeElement.parentElement.children].indexOf(document.activeElement) + ':' + document.activeElement.dataset.delivery`,
      ),
    ).toBe(`10:${CHANNEL}`);
    const showNewest = logPart.getByRole('button', { name: 'Show the newest 10 only', exact: true });
    expect(await showNewest.getAttribute('aria-expanded')).toBe('true');
    expect(await recent.locator('tr[data-event]').count()).toBe(10);
    await showNewest.click();
    await expect.poll(() => log.locator('tr[data-delivery]').count(), WAIT).toBe(10);
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Show all 50 deliveries');
    await showLog.click();
    await expect.poll(() => log.locator('tr[data-delivery]').count(), WAIT).toBe(50);
    expect(await log.locator(`tr[data-delivery="${BROKEN}"]`).count()).toBe(0);
    // Not from the log: from the channel's own last delivery.
    const broken = page.locator(`tr[data-channel="${BROKEN}"][data-last-delivery="failing"]`);
    await broken.waitFor(WAIT);
    expect(await broken.textContent()).toContain('Failing');

    // The log pages back; the history stays on its newest page.
    const logPages = page.getByRole('navigation', { name: 'Pages of the delivery log' });
    expect(await logPages.getByRole('link', { name: '← Newest' }).count()).toBe(0);
    await logPages.getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL(/\/alerts\?deliveries=\d+$/, WAIT);
    const older = page.getByRole('region', { name: 'Older deliveries', exact: true });
    // Another page starts cut again (its button counts fewer than the first page's 50): 10 newer
    // deliveries, then the first scenario's tests, the oldest, behind the button.
    const showOlder = logPart.getByRole('button', { name: /^Show all (?!50 )\d+ deliveries$/ });
    await showOlder.waitFor(WAIT);
    expect(await older.locator('tr[data-delivery]').count()).toBe(10);
    expect(await older.locator(`tr[data-delivery="${BROKEN}"]`).count()).toBe(0);
    const olderLabel = await showOlder.textContent();
    await showOlder.click();
    await older.locator(`tr[data-delivery="${BROKEN}"][data-status="failed"]`).waitFor(WAIT);
    const olderIds = await older.locator('tr[data-delivery]').count();
    expect(olderIds).toBeGreaterThan(10);
    expect(olderIds).toBeLessThanOrEqual(50);
    expect(olderLabel).toBe(`Show all ${olderIds} deliveries`);
    expect(await page.getByRole('region', { name: 'Recent alert events', exact: true }).count()).toBe(1);

    // The history pages back too, keeping the log's page in the URL.
    const historyPages = page.getByRole('navigation', { name: 'Pages of alert history' });
    await historyPages.getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL(/\/alerts\?deliveries=\d+&history=\d+$/, WAIT);
    // The firing event is the oldest, under 10 newer ones: behind the history's own button.
    const olderEvents = page.getByRole('region', { name: 'Older alert events', exact: true });
    const showOlderEvents = page
      .getByRole('region', { name: 'History, older events', exact: true })
      .getByRole('button', { name: /^Show all (?!50 )\d+ events$/ });
    await showOlderEvents.waitFor(WAIT);
    expect(await olderEvents.locator('tr[data-event]').count()).toBe(10);
    expect(await olderEvents.locator('tr[data-event="firing"]').count()).toBe(0);
    await showOlderEvents.click();
    await olderEvents.locator('tr[data-event="firing"]').filter({ hasText: RULE }).waitFor(WAIT);
    expect(await older.locator(`tr[data-delivery="${BROKEN}"]`).count()).toBe(1);

    // Back to the newest of each, one at a time.
    await logPages.getByRole('link', { name: '← Newest' }).click();
    await page.waitForURL(/\/alerts\?history=\d+$/, WAIT);
    await expect.poll(() => log.locator(`tr[data-delivery="${BROKEN}"]`).count(), WAIT).toBe(0);
    await historyPages.getByRole('link', { name: '← Newest' }).click();
    await page.waitForURL(/\/alerts$/, WAIT);
    await page.getByRole('region', { name: 'Recent alert events', exact: true }).waitFor(WAIT);

    // A cursor that is not one: the API's refusal shows, and a way back to the newest.
    await page.goto('/alerts?deliveries=not-a-cursor');
    await page.getByText(/Cannot load the delivery log: .*cursor/).waitFor(WAIT);
    await logPages.getByRole('link', { name: '← Newest' }).waitFor(WAIT);
    await page.context().close();
  });

  it('passes axe-core on the page and its rule dialog, and screenshots them', async () => {
    const violations: unknown[] = [];
    for (const [name, dialog] of [
      ['alerts', null],
      ['alert-rule-dialog', `Edit ${RULE}`],
    ] as const) {
      const written = await screenshotEverywhere(
        browser,
        name,
        async (page, context) => {
          await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
          await page.goto('/alerts');
          await page.locator('tr[data-alert]').filter({ hasText: RULE }).waitFor(WAIT);
          await page.locator(`tr[data-channel="${BROKEN}"][data-last-delivery="failing"]`).waitFor(WAIT);
          await page.getByRole('navigation', { name: 'Pages of the delivery log' }).waitFor(WAIT);
          if (dialog) {
            await page.getByRole('button', { name: dialog }).click();
            await page.locator('dialog[open] form').waitFor(WAIT);
          }
        },
        async (page, where) => {
          await collectAxeViolations(violations, page, `${name} ${where}`);
        },
      );
      expect(written).toHaveLength(4);
    }
    expect(violations).toEqual([]);
  });
});
