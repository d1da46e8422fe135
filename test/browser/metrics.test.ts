import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import {
  type AxeViolation,
  collectAxeViolations,
  screenshotEverywhere,
  signInContext,
} from './support/pages';

/**
 * The Metrics page (and the Overview's charts) in Chromium, over jobs a real worker-host ran: its
 * recorder writes the per-minute rollups (watchtower_metrics) in the same flush that records each
 * job's end, and the page reads them through GET /api/metrics/series. One stack and one browser
 * for the file.
 */
let stack: DashboardStack;
let browser: TestBrowser;
let connection = '';
const WAIT = { timeout: 45_000, interval: 250 };
const COMPLETED = 6;
const FAILED = 2;

interface Totals {
  completed: number;
  failed: number;
}

async function seriesTotals(
  query: string,
): Promise<{ totals: Totals; queues: Array<{ connection: string; queue: string }> }> {
  const response = await fetch(`${stack.baseURL}/api/metrics/series?${query}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (response.status !== 200) throw new Error(`series: ${response.status} ${await response.text()}`);
  return (await response.json()) as { totals: Totals; queues: Array<{ connection: string; queue: string }> };
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_metrics');
  browser = await launchChromium(stack.baseURL);
  await stack.queue.addBulk([
    ...Array.from({ length: COMPLETED }, (_, index) => ({
      name: 'render-chart',
      data: { ms: 20 + index * 10 },
    })),
    ...Array.from({ length: FAILED }, () => ({ name: 'render-chart', data: { fail: true } })),
  ]);
  // Until the recorder's flush has put every job's end into the minute rollups.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await seriesTotals(`range=1h&queue=${encodeURIComponent(stack.queue.name)}`);
    if (answer.totals.completed === COMPLETED && answer.totals.failed === FAILED) {
      connection = answer.queues.find((queue) => queue.queue === stack.queue.name)?.connection ?? '';
      break;
    }
    if (Date.now() > deadline) throw new Error(`the rollups hold ${JSON.stringify(answer.totals)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

async function signedInPage(options: { phone?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext(options);
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  return context.newPage();
}

function queuePath(range: string): string {
  return `/metrics?${new URLSearchParams({ range, queue: stack.queue.name, connection })}`;
}

/** The throughput chart's figure (the first chart of the page). */
const throughput = (page: Page) =>
  page.getByRole('region', { name: 'Throughput', exact: true }).locator('figure');

/** The number of points the throughput chart draws, read from its table (one row per point). */
async function pointsOf(page: Page): Promise<number> {
  const figure = throughput(page);
  const toggle = figure.locator('.chart-table-toggle');
  await toggle.waitFor(WAIT);
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await figure.locator('.chart-table table').waitFor(WAIT);
  return figure.locator('.chart-table tbody tr').count();
}

/** Sum of a column of the throughput chart's table. */
async function columnSum(page: Page, column: number): Promise<number> {
  const cells = await throughput(page)
    .locator(`.chart-table tbody tr td:nth-of-type(${column})`)
    .allTextContents();
  return cells.reduce((sum, cell) => sum + Number(cell.replace(/[^\d]/g, '')), 0);
}

describe('the Metrics page in Chromium', { timeout: 180_000 }, () => {
  it("shows the queue's throughput, run time, wait time and failure rate after jobs ran", async () => {
    const page = await signedInPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(queuePath('1h'));
    await page.getByRole('heading', { name: 'Metrics', level: 1 }).waitFor(WAIT);
    await expect
      .poll(() => page.locator('[data-stat="completed"] dd').textContent(), WAIT)
      .toBe(`${COMPLETED}`);
    expect(await page.locator('[data-stat="failed"] dd').textContent()).toBe(`${FAILED}`);
    expect(await page.locator('[data-stat="failure-rate"] dd').textContent()).toBe('25 %');
    expect(await throughput(page).locator('figcaption').textContent()).toContain(
      `${COMPLETED} completed, ${FAILED} failed`,
    );
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
    // Run time: the processor slept 20 to 70 ms.
    const run = (await page.locator('[data-stat="avg-run"] dd').textContent()) ?? '';
    expect(Number(run.replace(/[^\d]/g, ''))).toBeGreaterThanOrEqual(15);

    // Nothing hovered: every legend shows values (the latest ones), never uPlot's "--".
    const legendValues = await page.locator('.chart .u-legend .u-value').allTextContents();
    expect(legendValues.length).toBeGreaterThanOrEqual(8);
    expect(legendValues.filter((value) => value.trim() === '--' || value.trim() === '')).toEqual([]);

    // The text alternative: the chart's points as a table, adding up to the figures above.
    expect(await pointsOf(page)).toBe(60);
    expect(await columnSum(page, 1)).toBe(COMPLETED);
    expect(await columnSum(page, 2)).toBe(FAILED);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it('switches the range through the URL: the points change, reload and the back button keep it', async () => {
    const page = await signedInPage();
    await page.goto(queuePath('1h'));
    expect(await pointsOf(page)).toBe(60);

    await page
      .getByRole('navigation', { name: 'Range' })
      .getByRole('link', { name: '24h', exact: true })
      .click();
    await page.waitForURL(/[?&]range=24h/, WAIT);
    expect(new URL(page.url()).searchParams.get('queue')).toBe(stack.queue.name);
    await expect.poll(() => pointsOf(page), WAIT).toBe(24);
    await expect.poll(() => columnSum(page, 1), WAIT).toBe(COMPLETED);
    expect(await throughput(page).locator('figcaption').textContent()).toMatch(
      /^Jobs per hour, last 24 hours/,
    );

    await page.reload();
    await expect.poll(() => pointsOf(page), WAIT).toBe(24);
    expect(
      await page.getByRole('navigation', { name: 'Range' }).locator('[aria-current="page"]').textContent(),
    ).toBe('24h');

    await page.getByRole('link', { name: '7d', exact: true }).click();
    await page.waitForURL(/[?&]range=7d/, WAIT);
    await expect.poll(() => pointsOf(page), WAIT).toBe(168);

    await page.goBack();
    await page.waitForURL(/[?&]range=24h/, WAIT);
    await expect.poll(() => pointsOf(page), WAIT).toBe(24);
    await page.context().close();
  });

  it('picks all queues or one with the queue picker, in the URL', async () => {
    const page = await signedInPage();
    await page.goto('/metrics');
    await expect
      .poll(() => page.locator('[data-stat="completed"] dd').textContent(), WAIT)
      .toBe(`${COMPLETED}`);
    const picker = page.getByLabel('Queue', { exact: true });
    expect(await picker.inputValue()).toBe('');
    await picker.selectOption({ label: `${stack.queue.name} (${connection})` });
    await page.waitForURL((url) => url.searchParams.get('queue') === stack.queue.name, WAIT);
    expect(new URL(page.url()).searchParams.get('connection')).toBe(connection);
    await page
      .getByRole('heading', { name: `Queue ${stack.queue.name} (${connection}), last hour` })
      .waitFor(WAIT);

    // A queue with no figures: an empty state, not an error, and the picker still names it.
    await page.goto(`/metrics?range=1h&queue=no-such-queue&connection=${encodeURIComponent(connection)}`);
    await page.getByText('No job finished in the last hour in this queue.').waitFor(WAIT);
    expect(await page.locator('[data-stat="completed"] dd').textContent()).toBe('0');
    expect(await picker.locator('option:checked').textContent()).toBe(`no-such-queue (${connection})`);
    await picker.selectOption('');
    await page.waitForURL((url) => url.pathname === '/metrics' && !url.searchParams.has('queue'), WAIT);
    await expect
      .poll(() => page.locator('[data-stat="completed"] dd').textContent(), WAIT)
      .toBe(`${COMPLETED}`);
    await page.context().close();
  });

  it("draws the Overview's throughput for the last hour and 24 hours, wait time and run time", async () => {
    const page = await signedInPage();
    await page.goto('/');
    for (const name of [
      'Throughput, last hour',
      'Throughput, last 24 hours',
      'Wait time, last 24 hours',
      'Run time, last 24 hours',
    ]) {
      await page.getByRole('region', { name }).locator('canvas').waitFor(WAIT);
    }
    expect(
      await page.getByRole('region', { name: 'Throughput, last hour' }).locator('figcaption').textContent(),
    ).toContain(`Jobs per minute, last hour: ${COMPLETED} completed, ${FAILED} failed`);
    const legendValues = await page.locator('.chart .u-legend .u-value').allTextContents();
    expect(legendValues.filter((value) => value.trim() === '--')).toEqual([]);
    // The queue links to its metrics.
    await page
      .getByRole('region', { name: 'Queues, last 24 hours' })
      .getByRole('link', { name: stack.queue.name })
      .click();
    await page.waitForURL(
      (url) => url.pathname === '/metrics' && url.searchParams.get('range') === '24h',
      WAIT,
    );
    await expect.poll(() => pointsOf(page), WAIT).toBe(24);
    await page.context().close();
  });

  it('passes axe-core in light and dark, desktop and phone, and screenshots the page', async () => {
    const violations: Array<AxeViolation & { where: string }> = [];
    for (const [name, path, open] of [
      ['metrics', queuePath('1h'), false],
      ['metrics-all-24h-table', '/metrics?range=24h', true],
    ] as const) {
      const written = await screenshotEverywhere(
        browser,
        name,
        async (page, context) => {
          await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
          await page.goto(path);
          await expect
            .poll(() => page.locator('[data-stat="completed"] dd').textContent(), WAIT)
            .toBe(`${COMPLETED}`);
          await page.locator('.chart canvas').first().waitFor(WAIT);
          if (open) await pointsOf(page);
        },
        async (page, where) => {
          await collectAxeViolations(violations, page, `${name} ${where}`);
          const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
          expect(overflow, `${name} ${where}`).toBe(0);
        },
      );
      expect(written).toHaveLength(4);
    }
    expect(violations).toEqual([]);
  });
});
