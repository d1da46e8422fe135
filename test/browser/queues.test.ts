import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import {
  collectAxeViolations,
  screenshotEverywhere,
  signInContext,
  statValue,
  viewerContext,
} from './support/pages';

/**
 * The Queues page and the Overview's queue table and hosts panel in Chromium, over a real
 * worker-host running real BullMQ jobs. One stack and one browser for the file.
 */
let stack: DashboardStack;
let browser: TestBrowser;
const WAIT = { timeout: 45_000, interval: 250 };

beforeAll(async () => {
  stack = await startDashboardStack('browser_queues');
  browser = await launchChromium(stack.baseURL);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

async function signedInPage(): Promise<Page> {
  const context = await browser.newContext();
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  return context.newPage();
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.baseURL}${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface QueueBody {
  queue: string;
  paused: boolean | null;
  states: { waiting: number; delayed: number; retrying: number };
  processing: number;
  lastHour: { completed: number; failed: number };
}

async function queueFromApi(): Promise<QueueBody> {
  const { queues } = await api<{ queues: QueueBody[] }>('/api/queues');
  const queue = queues.find((candidate) => candidate.queue === stack.queue.name);
  if (!queue) throw new Error(`${stack.queue.name} is not in GET /api/queues`);
  return queue;
}

/** The text of one figure in the queue's row ("3", "1,000+", "paused"). */
function cell(page: Page, name: string): Promise<string> {
  return page
    .locator(`tr[data-queue="${stack.queue.name}"] [data-cell="${name}"]`)
    .first()
    .textContent()
    .then((text) => (text ?? '').trim());
}

/** Holds every GET /api/commands/{id}/wait until released: the page must then show "pending". */
async function holdCommandAnswers(page: Page): Promise<() => void> {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route('**/api/commands/*/wait*', async (route: Route) => {
    await released;
    await route.continue();
  });
  return release;
}

describe('the Queues page in Chromium', { timeout: 180_000 }, () => {
  it('shows the queue, its depth changing as jobs are added and run', async () => {
    const page = await signedInPage();
    await page.goto('/queues');
    await page.locator(`tr[data-queue="${stack.queue.name}"]`).waitFor(WAIT);
    expect(await page.locator(`tr[data-queue="${stack.queue.name}"] a`).first().getAttribute('href')).toBe(
      `/jobs?queue=${encodeURIComponent(stack.queue.name)}&connection=default`,
    );
    expect(
      await page
        .locator(`tr[data-queue="${stack.queue.name}"]`)
        .getByRole('link', { name: 'metrics' })
        .first()
        .getAttribute('href'),
    ).toBe(`/metrics?queue=${encodeURIComponent(stack.queue.name)}&connection=default`);

    // Delayed jobs: counted as delayed until promoted, then run and counted as completed.
    const completedBefore = (await queueFromApi()).lastHour.completed;
    const delayed = await Promise.all(
      [1, 2, 3].map((index) => stack.queue.add('later', { label: `later-${index}` }, { delay: 3_600_000 })),
    );
    await expect.poll(() => cell(page, 'delayed'), WAIT).toBe('3');
    // One long job: active while it runs.
    await stack.queue.add('long-run', { ms: 10_000 });
    await expect.poll(() => cell(page, 'active'), WAIT).toBe('1');
    await expect.poll(() => cell(page, 'active'), WAIT).toBe('0');
    for (const job of delayed) await job.promote();
    await expect.poll(() => cell(page, 'delayed'), WAIT).toBe('0');
    await expect.poll(() => cell(page, 'completed'), WAIT).toBe(String(completedBefore + 4));
    await page.context().close();
  });

  it('pauses the queue: pending until the host answered, then paused as the host confirmed; and resumes it', async () => {
    const page = await signedInPage();
    await page.goto('/queues');
    const row = page.locator(`tr[data-queue="${stack.queue.name}"]`);
    await row.waitFor(WAIT);
    expect(await cell(page, 'state')).not.toContain('paused');

    const release = await holdCommandAnswers(page);
    const sent = page.waitForResponse((response) => /\/api\/queues\/[^/]+\/pause/.test(response.url()));
    await row.getByRole('button', { name: `Pause ${stack.queue.name}` }).click();
    const { command } = (await (await sent).json()) as { command: { id: string } };
    // The page does not know the answer yet: pending, whatever the host has done meanwhile.
    await expect.poll(() => cell(page, 'state'), WAIT).toContain('pausing…');
    await row.getByText('Sent; waiting for a host to carry it out…').waitFor(WAIT);
    expect(await row.getByRole('button', { name: `Pause ${stack.queue.name}` }).isDisabled()).toBe(true);
    // The real host carries it out; the page still says pending until it hears so.
    await expect
      .poll(
        async () =>
          (await api<{ command: { status: string } }>(`/api/commands/${command.id}`)).command.status,
        WAIT,
      )
      .toBe('done');
    expect(await cell(page, 'state')).toContain('pausing…');
    release();
    await row.getByText('A host paused the queue.').waitFor(WAIT);
    await expect.poll(() => cell(page, 'state'), WAIT).toBe('paused');
    const done = await api<{ command: { status: string; result: { paused: boolean } } }>(
      `/api/commands/${command.id}`,
    );
    expect(done.command).toMatchObject({ status: 'done', result: { paused: true } });
    expect(await stack.queue.isPaused()).toBe(true);
    expect((await queueFromApi()).paused).toBe(true);
    await page.unroute('**/api/commands/*/wait*');

    // Paused: added jobs wait, and the oldest of them shows how long.
    const completedBefore = (await queueFromApi()).lastHour.completed;
    await stack.queue.add('held', { label: 'held-1' });
    await stack.queue.add('held', { label: 'held-2' });
    await expect.poll(() => cell(page, 'waiting'), WAIT).toBe('2');
    expect(await row.locator('[data-cell="oldest"] time').getAttribute('title')).toBeTruthy();

    await row.getByRole('button', { name: `Resume ${stack.queue.name}` }).click();
    await row.getByText('A host resumed the queue.').waitFor(WAIT);
    await expect.poll(() => cell(page, 'state'), WAIT).toBe('running');
    expect(await stack.queue.isPaused()).toBe(false);
    await expect.poll(() => cell(page, 'waiting'), WAIT).toBe('0');
    await expect.poll(() => cell(page, 'completed'), WAIT).toBe(String(completedBefore + 2));
    expect(await cell(page, 'oldest')).toBe('–');
    await page.context().close();
  });

  it('shows the real queue and host on the Overview, with numbers that agree', async () => {
    // A job that stays delayed, so the queue has something waiting on the Overview.
    await stack.queue.add('tomorrow', { label: 'for the overview' }, { delay: 86_400_000 });
    const page = await signedInPage();
    await page.goto('/');
    const queueRow = page.locator(`.overview-queues tr[data-queue="${stack.queue.name}"]`);
    await queueRow.waitFor(WAIT);
    await expect.poll(() => queueRow.locator('[data-cell="delayed"]').textContent(), WAIT).toBe('1');
    expect(await queueRow.locator('[data-cell="state"]').textContent()).toBe('running');
    expect(await queueRow.locator('a').first().getAttribute('href')).toBe(
      `/jobs?queue=${encodeURIComponent(stack.queue.name)}&connection=default`,
    );

    const hostRow = page.locator(`tr[data-host-id="${stack.host.hostId}"]`);
    await hostRow.waitFor(WAIT);
    expect(await hostRow.locator('.status').textContent()).toBe('running');
    expect(await hostRow.locator('a').getAttribute('href')).toBe(
      `/workers?host=${encodeURIComponent(stack.host.hostId)}`,
    );
    expect(await hostRow.locator('time').getAttribute('title')).toBeTruthy();
    // One worker process, idle: and the cards above say the same.
    const figure = async (name: string) =>
      Number(await hostRow.locator(`[data-cell="${name}"]`).textContent());
    await expect
      .poll(async () => [await figure('busy'), await figure('idle'), await figure('paused')], WAIT)
      .toEqual([0, 1, 0]);
    await expect
      .poll(
        async () => [await statValue(page, 'active_workers'), await statValue(page, 'paused_workers')],
        WAIT,
      )
      .toEqual([1, 0]);
    // Pending on the card = waiting + delayed + retrying over the queues (one queue here).
    const queueDepth = async () => {
      let sum = 0;
      for (const name of ['waiting', 'delayed', 'retrying'])
        sum += Number(await queueRow.locator(`[data-cell="${name}"]`).textContent());
      return sum;
    };
    await expect.poll(async () => (await statValue(page, 'pending')) - (await queueDepth()), WAIT).toBe(0);
    await expect
      .poll(
        async () =>
          (await statValue(page, 'processing')) -
          Number(await queueRow.locator('[data-cell="active"]').textContent()),
        WAIT,
      )
      .toBe(0);
    await page.context().close();
  });

  it('shows a viewer no Pause or Resume, and the API refuses a forced one with 403', async () => {
    const context = await viewerContext(browser, stack);
    const page = await context.newPage();
    await page.goto('/queues');
    const row = page.locator(`tr[data-queue="${stack.queue.name}"]`);
    await row.waitFor(WAIT);
    await expect.poll(() => cell(page, 'state'), WAIT).toBe('running');
    expect(await page.getByRole('button', { name: /^(Pause|Resume)/ }).count()).toBe(0);
    const forced = await context.request.post(`/api/queues/${encodeURIComponent(stack.queue.name)}/pause`, {
      headers: { origin: stack.baseURL },
      data: { connection: 'default' },
    });
    expect(forced.status()).toBe(403);
    expect(await stack.queue.isPaused()).toBe(false);
    await context.close();
  });

  it('passes axe-core on the Queues page and the Overview, light and dark, desktop and phone, and screenshots them', async () => {
    const violations: unknown[] = [];
    for (const [name, path] of [
      ['queues', '/queues'],
      ['overview', '/'],
    ] as const) {
      const written = await screenshotEverywhere(
        browser,
        name,
        async (page, context) => {
          await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
          await page.goto(path);
          await page.locator(`tr[data-queue="${stack.queue.name}"]`).first().waitFor(WAIT);
          if (name === 'overview') {
            await page.locator(`tr[data-host-id="${stack.host.hostId}"]`).waitFor(WAIT);
            await page.locator('.chart canvas').first().waitFor(WAIT);
          }
          // Nothing widens the page on a phone: wide tables scroll inside their card.
          const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
          expect(width, `${name} page width`).toBeLessThanOrEqual(page.viewportSize()?.width ?? 0);
        },
        async (page, where) => {
          await collectAxeViolations(violations, page, `${name} ${where}`);
        },
      );
      expect(written).toHaveLength(4);
    }
    expect(violations).toEqual([]);
  });

  // Last: it stops the host.
  it("shows the host's reason when it refuses, and says so when no host took the command", async () => {
    // The real host goes, and the test answers in its place: a refusal made on purpose, as a host
    // that cannot reach Redis answers.
    await stack.host.stop(20_000);
    const database = createNodeDatabase(stack.databaseUrl, { max: 1 });
    const bus = new DatabaseCommandBus(database.db);
    try {
      const page = await signedInPage();
      await page.goto('/queues');
      const row = page.locator(`tr[data-queue="${stack.queue.name}"]`);
      await row.waitFor(WAIT);
      await row.getByRole('button', { name: `Pause ${stack.queue.name}` }).click();
      await expect.poll(() => cell(page, 'state'), WAIT).toContain('pausing…');
      let claimed: Awaited<ReturnType<typeof bus.claim>>[number] | undefined;
      await expect
        .poll(async () => {
          [claimed] = await bus.claim({
            claimer: 'test-as-host',
            targets: [{ kind: 'connection', id: 'default' }],
            limit: 1,
          });
          return claimed?.type;
        }, WAIT)
        .toBe('queue.pause');
      if (!claimed) throw new Error('no command claimed');
      await bus.acknowledge(claimed.id, claimed.claimToken, {
        ok: false,
        error: 'connect ECONNREFUSED 127.0.0.1:6379',
      });
      await row.getByText('The host refused: connect ECONNREFUSED 127.0.0.1:6379').waitFor(WAIT);
      await expect.poll(() => cell(page, 'state'), WAIT).toBe('running');

      // No host at all: a command with a short TTL expires unclaimed, and the page says nothing was done.
      await page.route('**/api/queues/*/pause*', async (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('ttl', '1');
        await route.continue({ url: url.toString() });
      });
      await row.getByRole('button', { name: `Pause ${stack.queue.name}` }).click();
      await row.getByText(/No host that reaches the queue took the command in time/).waitFor(WAIT);
      expect(await cell(page, 'state')).toBe('running');
      expect(await stack.queue.isPaused()).toBe(false);
      await page.context().close();
    } finally {
      await database.close();
    }
  });
});
