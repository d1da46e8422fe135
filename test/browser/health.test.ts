import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type PrivateRedis, startPrivateRedis } from '../worker-host/fixtures/recorder-harness';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import {
  type AxeViolation,
  collectAxeViolations,
  screenshotEverywhere,
  signInContext,
} from './support/pages';

/**
 * The Health page in Chromium over what a real worker-host checked: a Redis of the test's own (up,
 * but with an eviction policy BullMQ must not have), and a connection to a port nothing listens
 * on (down, with its error). The host writes the rows with its heartbeat; the page reads them
 * through GET /api/health/connections.
 */
let stack: DashboardStack;
let browser: TestBrowser;
let spare: PrivateRedis;
const WAIT = { timeout: 45_000, interval: 250 };

interface Answer {
  connections: Array<{ name: string; state: string; series: Array<{ p50Ms: number | null }> }>;
}

beforeAll(async () => {
  spare = await startPrivateRedis();
  await promisify(execFile)('redis-cli', [
    '-u',
    spare.url,
    'config',
    'set',
    'maxmemory-policy',
    'allkeys-lru',
  ]);
  const nobody = await freePort();
  stack = await startDashboardStack('browser_health', {
    connections: { 'cache-spare': { url: spare.url }, 'cache-gone': { url: `redis://127.0.0.1:${nobody}` } },
    hostOptions: { healthInterval: 1 },
  });
  browser = await launchChromium(stack.baseURL);
  // Until the host's beats carry both connections' rows.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await fetch(`${stack.baseURL}/api/health/connections?range=1h`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const answer = (await response.json()) as Answer;
    const state = (name: string) => answer.connections.find((c) => c.name === name)?.state;
    if (state('cache-spare') === 'up' && state('cache-gone') === 'down') break;
    if (Date.now() > deadline) throw new Error(`the health rows say ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await spare?.destroy();
}, 60_000);

const card = (page: Page, name: string) => page.locator(`[data-connection="${name}"]`);

async function openHealth(page: Page): Promise<void> {
  await page.goto('/health');
  await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor(WAIT);
  await card(page, 'cache-spare').locator('canvas').waitFor(WAIT);
}

/**
 * The Hosts table does not scroll sideways (on a phone each host is a card), and every host's name,
 * status, heartbeat and connections lie inside the screen: none needs a swipe to be read.
 */
async function expectHostsInSight(page: Page, where: string): Promise<void> {
  const hosts = page.locator('section.health-hosts');
  expect(
    await hosts.locator('.table-scroll').evaluate((box) => box.scrollWidth - box.clientWidth),
    `the Hosts table scrolls sideways (${where})`,
  ).toBe(0);
  const width = page.viewportSize()?.width ?? 0;
  const rows = await hosts.locator('tbody tr').all();
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const name = row.locator('td').nth(0).getByRole('link');
    expect(await name.getAttribute('href')).toMatch(/^\/workers\?host=./);
    for (const [what, part] of [
      ['name', name],
      ['status', row.locator('.status')],
      ['last heartbeat', row.locator('td').nth(2)],
      ['connections', row.locator('td').nth(3)],
    ] as const) {
      const box = await part.boundingBox();
      expect(box, `${what} (${where})`).not.toBeNull();
      if (!box) continue;
      expect(box.x, `${what} starts on the screen (${where})`).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, `${what} ends on the screen (${where})`).toBeLessThanOrEqual(width);
    }
    const connections = await row.locator('td').nth(3).textContent();
    expect(connections).toContain('cache-spare');
    expect(connections).toContain('cache-gone');
  }
}

describe('the Health page in Chromium', { timeout: 180_000 }, () => {
  it('shows a connection up and one down with its error, and the eviction warning in words', async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Health' }).click();
    await page.waitForURL((url) => url.pathname === '/health', WAIT);
    await card(page, 'cache-spare').locator('canvas').waitFor(WAIT);

    const spareCard = card(page, 'cache-spare');
    expect(await spareCard.locator('.status').textContent()).toBe('up');
    expect(await spareCard.locator('.connection-warning').textContent()).toContain(
      'this Redis evicts keys when it runs out of memory (maxmemory-policy allkeys-lru)',
    );
    expect(await spareCard.locator('figcaption').textContent()).toMatch(
      /latest p50 [\d.]+ ms, p95 [\d.]+ ms/,
    );

    const goneCard = card(page, 'cache-gone');
    expect(await goneCard.locator('.status').textContent()).toBe('down');
    expect(await goneCard.locator('.connection-error').textContent()).toMatch(/Error: .*ECONNREFUSED/);
    expect(await goneCard.locator('.connection-warning').count()).toBe(0);
    // Down first, and named in the banner.
    expect(await page.locator('.connection-card h3').first().textContent()).toBe('cache-gone');
    expect(await page.locator('.banner-error').textContent()).toContain('A connection is down: cache-gone');

    // The host checking them, with its heartbeat.
    const hosts = page.getByRole('region', { name: 'Hosts' });
    expect(await hosts.locator('tbody tr').count()).toBe(1);
    expect(await hosts.locator('tbody .status').textContent()).toBe('running');

    // The range is in the URL: 24h draws per hour.
    await page
      .getByRole('navigation', { name: 'Range' })
      .getByRole('link', { name: '24h', exact: true })
      .click();
    await page.waitForURL(/[?&]range=24h/, WAIT);
    await expect
      .poll(() => spareCard.locator('figcaption').textContent(), WAIT)
      .toMatch(/^Round trip, last 24 hours/);
    // And 90 days, per hour from the hourly rollups.
    await page
      .getByRole('navigation', { name: 'Range' })
      .getByRole('link', { name: '90d', exact: true })
      .click();
    await page.waitForURL(/[?&]range=90d/, WAIT);
    await expect
      .poll(() => spareCard.locator('figcaption').textContent(), WAIT)
      .toMatch(/^Round trip, last 90 days/);
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('passes axe-core in light and dark, desktop and phone, and screenshots the page', async () => {
    const violations: Array<AxeViolation & { where: string }> = [];
    const written = await screenshotEverywhere(
      browser,
      'health',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await openHealth(page);
      },
      async (page, where) => {
        await collectAxeViolations(violations, page, `health ${where}`);
        const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
        expect(overflow, `health ${where}`).toBe(0);
        await expectHostsInSight(page, where);
      },
    );
    expect(written).toHaveLength(4);
    expect(violations).toEqual([]);
  });
});
