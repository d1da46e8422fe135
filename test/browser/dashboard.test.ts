import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import {
  type AxeViolation,
  collectAxeViolations,
  screenshotEverywhere,
  type seriousAxeViolations,
  signInContext,
  signInThroughForm,
  statValue,
} from './support/pages';

/**
 * The dashboard in a real Chromium against the Worker in workerd (`wrangler dev`), with a real
 * worker-host running BullMQ jobs. One stack and one browser for the whole file; each scenario has
 * its own browser context (cookies, storage).
 */
let stack: DashboardStack;
let browser: TestBrowser;

beforeAll(async () => {
  stack = await startDashboardStack('browser');
  browser = await launchChromium(stack.baseURL);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

const WAIT = { timeout: 45_000, interval: 250 };

// Each step may wait up to WAIT on two loaded cores; a scenario has several.
describe('the dashboard in Chromium', { timeout: 180_000 }, () => {
  it('signs in with email and password, after refusing a wrong password with a message', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto('/');
    await signInThroughForm(page, stack.admin.email, 'not the password');
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Wrong email or password');

    await signInThroughForm(page, stack.admin.email, stack.admin.password);
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    await page.getByText(stack.admin.email).waitFor(WAIT);
    await context.close();
  });

  it("shows the Overview's numbers change as jobs run, one poll at a time, with the ETag", async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    let inFlight = 0;
    let mostInFlight = 0;
    const conditional: boolean[] = [];
    page.on('request', (request) => {
      if (!request.url().endsWith('/api/poll')) return;
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      conditional.push(request.headers()['if-none-match'] !== undefined);
    });
    const ended = (request: { url(): string }) => {
      if (request.url().endsWith('/api/poll')) inFlight--;
    };
    page.on('requestfinished', ended);
    page.on('requestfailed', ended);
    // A style or script the Content-Security-Policy refused would show here (uPlot draws the chart).
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });

    await page.goto('/');
    await page.locator('[data-stat="completed"] dd').waitFor(WAIT);
    const completed = await statValue(page, 'completed');
    const failed = await statValue(page, 'failed');

    await stack.queue.addBulk([
      ...Array.from({ length: 5 }, (_, index) => ({
        name: 'render-invoice',
        data: { label: `ok-${index}` },
      })),
      ...Array.from({ length: 2 }, (_, index) => ({
        name: 'charge-card',
        data: { fail: true, label: `bad-${index}` },
      })),
    ]);
    await expect.poll(() => statValue(page, 'completed'), WAIT).toBe(completed + 5);
    await expect.poll(() => statValue(page, 'failed'), WAIT).toBe(failed + 2);
    await expect.poll(() => statValue(page, 'completed_last_hour'), WAIT).toBeGreaterThanOrEqual(5);
    await page
      .getByRole('cell', { name: /render-invoice/ })
      .first()
      .waitFor(WAIT);
    // The throughput chart and the queue figures come from the metrics rollups.
    await expect
      .poll(() => page.locator('.chart figcaption').first().textContent(), WAIT)
      .toMatch(/: [5-9]\d* completed, [2-9]\d* failed/);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    await page
      .getByRole('region', { name: 'Queues, last 24 hours' })
      .getByText(stack.queue.name)
      .waitFor(WAIT);
    expect(consoleErrors).toEqual([]);

    // Every poll after the first answer sends its ETag back.
    await expect.poll(() => conditional.length, WAIT).toBeGreaterThan(2);
    expect(conditional[0]).toBe(false);
    expect(conditional.slice(1).every(Boolean)).toBe(true);
    expect(mostInFlight).toBe(1);
    await context.close();
  });

  it('keeps the figures on screen with a "connection lost, retrying" banner while requests fail', async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    await page.goto('/');
    await page.locator('[data-stat="total_jobs"] dd').waitFor(WAIT);
    const total = await page.locator('[data-stat="total_jobs"] dd').textContent();

    await page.route('**/api/poll', (route) => route.abort('connectionrefused'));
    await page.getByText('Connection lost, retrying.').waitFor(WAIT);
    expect(await page.locator('[data-stat="total_jobs"] dd').textContent()).toBe(total);

    await page.unroute('**/api/poll');
    await page.getByText('Connection lost, retrying.').waitFor({ ...WAIT, state: 'detached' });
    await context.close();
  });

  it('stops polling while the tab is hidden and polls at once when it is shown again', async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    let polls = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/api/poll')) polls++;
    });
    await page.goto('/');
    await page.locator('[data-stat="total_jobs"] dd').waitFor(WAIT);
    // A poll in flight when the tab hides may still end; count from when it has.
    // As the browser does when the tab goes to the background (run in the page).
    const setHidden = (hidden: boolean) =>
      page.evaluate(`(() => {
        Object.defineProperty(document, 'hidden', { value: ${hidden}, configurable: true });
        Object.defineProperty(document, 'visibilityState', { value: '${hidden ? 'hidden' : 'visible'}', configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      })()`);
    await setHidden(true);
    await page.waitForLoadState('networkidle');
    const whileHidden = polls;
    // Two and a half poll intervals (3 s) without a request.
    await page.waitForTimeout(7_500);
    expect(polls).toBe(whileHidden);
    await setHidden(false);
    await expect.poll(() => polls, WAIT).toBeGreaterThan(whileHidden);
    await context.close();
  });

  it('says the session expired on a 401 mid-session, and signing in again stays on the page', async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    await page.goto('/?from=expiry');
    await page.locator('[data-stat="total_jobs"] dd').waitFor(WAIT);

    await stack.sql("update watchtower_sessions set expires_at = now() - interval '1 second'");
    await page.getByTestId('session-expired').waitFor(WAIT);
    expect(await page.getByTestId('session-expired').textContent()).toContain('Your session expired');

    await signInThroughForm(page, stack.admin.email, stack.admin.password);
    await page.locator('[data-stat="total_jobs"] dd').waitFor(WAIT);
    expect(new URL(page.url()).search).toBe('?from=expiry');
    expect(await page.getByTestId('session-expired').count()).toBe(0);
    await context.close();
  });

  it('signs out: the cookie no longer works and a reload shows the sign-in page', async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Watchtower' }).waitFor(WAIT);
    expect((await context.request.get('/api/auth/me')).status()).toBe(401);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Watchtower' }).waitFor(WAIT);
    expect(await page.getByTestId('session-expired').count()).toBe(0);
    await context.close();
  });

  it("says so when a page's code cannot be loaded, offers a reload, and the other pages still work", async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    const page = await context.newPage();
    // As after a deploy that replaced the chunk, or a dropped connection.
    await page.route(/\/assets\/audit-[^/]+\.js$/, (route) => route.abort());
    await page.goto('/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    await page.getByRole('heading', { name: 'This page could not be shown' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Reload' }).waitFor(WAIT);
    // The navigation stays: the page around the error is the dashboard, not a blank screen.
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor(WAIT);
    expect(await page.getByRole('heading', { name: 'This page could not be shown' }).count()).toBe(0);
    await context.close();
  });

  it('passes axe-core on every page, light and dark, desktop and phone, and screenshots them', async () => {
    await stack.queue.add('render-invoice', { label: 'for the screenshots' });
    const violations: Array<AxeViolation & { where: string }> = [];
    const check = async (where: string, page: Parameters<typeof seriousAxeViolations>[0]) => {
      await collectAxeViolations(violations, page, where);
    };
    const signIn = await screenshotEverywhere(
      browser,
      'sign-in',
      async (page) => {
        await page.goto('/');
        await page.getByRole('heading', { name: 'Sign in to Watchtower' }).waitFor(WAIT);
      },
      (page, where) => check(`sign-in ${where}`, page),
    );
    const overview = await screenshotEverywhere(
      browser,
      'overview',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto('/');
        await page
          .getByRole('cell', { name: /render-invoice/ })
          .first()
          .waitFor(WAIT);
        await page.locator('.chart canvas').first().waitFor(WAIT);
        await page.getByRole('heading', { name: 'Queues, last 24 hours' }).waitFor(WAIT);
      },
      async (page, where) => {
        await check(`overview ${where}`, page);
        // Every table reads without a sideways swipe: on a phone each row is a card.
        const tables = page.locator('.table-scroll');
        expect(await tables.count(), `overview ${where}`).toBeGreaterThanOrEqual(5);
        for (const table of await tables.all()) {
          const label = await table.getAttribute('aria-label');
          expect(
            await table.evaluate((box) => box.scrollWidth - box.clientWidth),
            `${label} scrolls sideways (overview ${where})`,
          ).toBe(0);
        }
        expect(
          await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
          `overview ${where}`,
        ).toBe(0);
      },
    );
    expect(signIn).toHaveLength(4);
    expect(overview).toHaveLength(4);
    expect(violations).toEqual([]);
  });
});
