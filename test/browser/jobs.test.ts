import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import { collectAxeViolations, screenshotEverywhere, signInContext, viewerContext } from './support/pages';

/**
 * The Jobs and Job pages in Chromium, over jobs a real worker-host ran, hostile ones included.
 * One stack and one browser for the file.
 */
let stack: DashboardStack;
let browser: TestBrowser;
const WAIT = { timeout: 45_000, interval: 250 };

/** Row id (what /jobs/:id takes) of a BullMQ job once the recorder has its final status. */
const rowIds = new Map<string, number>();

const ATTACKER = 'http://attacker.test';
const LONG_WORD = 'W'.repeat(2000);
const HOSTILE = {
  script: '<script>window.__xss = 1; alert(1)</script>',
  image: `<img src="${ATTACKER}/data.png" onerror="alert(2)">`,
  link: 'javascript:alert(document.cookie)',
  anchor: `<a href="javascript:alert(3)">click</a>`,
  word: LONG_WORD,
};
// The test processor throws "job <id> fails until <path> exists": the path carries the attack
// into the recorded exception and stack.
const HOSTILE_PATH = `/nonexistent/<script>alert(4)</script><img src="${ATTACKER}/ex.png" onerror="alert(5)"> javascript:alert(6) ${LONG_WORD}`;

/** Fails until the test creates this file: a job "fixed" before it is retried. */
const RETRY_FILE = join(tmpdir(), `watchtower-browser-retry-${process.pid}-${Date.now()}`);

async function waitForJob(job: Job, status: string): Promise<number> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const response = await fetch(
      `${stack.baseURL}/api/jobs?queue=${encodeURIComponent(stack.queue.name)}&limit=200`,
      { headers: { authorization: `Bearer ${stack.adminToken}` } },
    );
    const body = (await response.json()) as { jobs: Array<{ id: number; jobId: string; status: string }> };
    const row = body.jobs.find((candidate) => candidate.jobId === job.id && candidate.status === status);
    if (row) return row.id;
    if (Date.now() > deadline) throw new Error(`job ${job.id} was not recorded ${status} within 45 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_jobs');
  browser = await launchChromium(stack.baseURL);
  const queue = stack.queue;
  const jobs: Array<[string, Job, string]> = [
    ['email', await queue.add('send-email', { to: 'user42@example.com', template: 'welcome' }), 'completed'],
    ['image', await queue.add('resize-image', { path: 'cats/tabby.png', width: 640 }), 'completed'],
    ['big', await queue.add('import-catalog', { rows: 'r'.repeat(15_000) }), 'completed'],
    [
      'hostile',
      await queue.add('<img src=x onerror=alert(7)>', { ...HOSTILE, failUnlessFile: HOSTILE_PATH }),
      'failed',
    ],
  ];
  jobs.push(['retry', await queue.add('sync-crm', { failUnlessFile: RETRY_FILE }), 'failed']);
  for (let index = 0; index < 6; index++)
    jobs.push([`page-${index}`, await queue.add('page-filler', { index }), 'completed']);
  for (const [key, job, status] of jobs) rowIds.set(key, await waitForJob(job, status));
  // A page is within its time budget even with these 2,000-character words.
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

// Each step may wait up to WAIT on two loaded cores; a scenario has several.
describe('the Jobs pages in Chromium', { timeout: 180_000 }, () => {
  it('keeps the search and filters in the URL, through reload and the back button', async () => {
    const page = await signedInPage();
    await page.goto('/jobs');
    await page.getByText(/Finds jobs whose id, name, exception/).waitFor(WAIT);
    await page.getByLabel('Search').fill('user42@example.com');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/[?&]q=user42%40example\.com/, WAIT);
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(1);
    expect(await page.locator('tbody tr').first().textContent()).toContain('send-email');

    await page.reload();
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(1);
    expect(await page.getByLabel('Search').inputValue()).toBe('user42@example.com');

    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/[?&]status=failed/, WAIT);
    // The two failed jobs, and nothing of the search before.
    await expect
      .poll(() => page.locator('tbody .status').allTextContents(), WAIT)
      .toEqual(['failed', 'failed']);

    await page.goBack();
    await page.waitForURL(/[?&]q=user42%40example\.com/, WAIT);
    await expect.poll(() => page.getByLabel('Search').inputValue(), WAIT).toBe('user42@example.com');
    await expect.poll(() => page.locator('tbody tr').first().textContent(), WAIT).toContain('send-email');

    // A page opened from a URL shows the filters it applies in their fields, selects too (so
    // Apply keeps them).
    await page.goto('/jobs?status=failed&sort=oldest');
    await expect.poll(() => page.getByLabel('Status').inputValue(), WAIT).toBe('failed');
    expect(await page.getByLabel('Order').inputValue()).toBe('oldest');
    await page.context().close();
  });

  it('pages through the jobs by cursor, and back to the first page', async () => {
    const page = await signedInPage();
    await page.goto(`/jobs?name=page-filler&limit=4&sort=oldest`);
    // The job cells (name and id); the times beside them move on.
    const jobCells = () => page.locator('tbody tr td:first-child').allTextContents();
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(4);
    const first = await jobCells();
    await page.getByRole('link', { name: 'Next page →' }).click();
    await page.waitForURL(/[?&]cursor=/, WAIT);
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(2);
    expect(await page.getByRole('link', { name: 'Next page →' }).count()).toBe(0);
    const second = await jobCells();
    expect(second.filter((cell) => first.includes(cell))).toEqual([]);
    await page.getByRole('link', { name: '← First page' }).click();
    await expect.poll(jobCells, WAIT).toEqual(first);
    await page.context().close();
  });

  it('opens a job from the list: its data as JSON text to copy, a long one cut with "Show all"', async () => {
    const page = await signedInPage();
    await page.goto('/jobs?q=user42@example.com');
    await page.getByRole('link', { name: 'send-email' }).click();
    await page.waitForURL(new RegExp(`/jobs/${rowIds.get('email')}$`), WAIT);
    await page.getByRole('heading', { name: /send-email/ }).waitFor(WAIT);
    const data = await page.getByRole('region', { name: 'Job data' }).textContent();
    expect(JSON.parse(data ?? '')).toEqual({ to: 'user42@example.com', template: 'welcome' });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy the data' }).click();
    await page.getByText('Copied').waitFor(WAIT);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(data);

    await page.goto(`/jobs/${rowIds.get('big')}`);
    await page.getByText(/Showing 10,000 of [\d,]+ characters/).waitFor(WAIT);
    expect(await page.getByRole('link', { name: 'Download' }).getAttribute('download')).toMatch(/\.json$/);
    await page.getByRole('button', { name: 'Show all' }).click();
    await expect
      .poll(
        async () => (await page.getByRole('region', { name: 'Job data' }).textContent())?.length ?? 0,
        WAIT,
      )
      .toBeGreaterThan(15_000);
    await page.context().close();
  });

  it('shows hostile job data and exceptions as text: nothing runs, nothing is fetched, the layout holds', async () => {
    for (const phone of [false, true]) {
      const page = await signedInPage({ phone });
      const dialogs: string[] = [];
      const attackerRequests: string[] = [];
      const consoleErrors: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('request', (request) => {
        if (request.url().startsWith(ATTACKER) || new URL(request.url()).pathname === '/x')
          attackerRequests.push(request.url());
      });
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });

      for (const path of ['/', '/jobs?status=failed', `/jobs/${rowIds.get('hostile')}`]) {
        await page.goto(path);
        await page.getByText('<img src=x onerror=alert(7)>').first().waitFor(WAIT);
        await page.waitForLoadState('networkidle');
        const state = await page.evaluate(`({
          xss: window.__xss,
          images: document.querySelectorAll('img').length,
          scripts: [...document.scripts].filter((script) => !script.src).length,
          javascriptLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
        })`);
        expect(state, path).toEqual({
          xss: undefined,
          images: 0,
          scripts: 0,
          javascriptLinks: 0,
          overflow: 0,
        });
      }
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).toContain(HOSTILE.script);
      expect(text).toContain(HOSTILE.link);
      expect(text).toContain('<script>alert(4)</script>');
      expect(text).toContain(LONG_WORD);
      expect(dialogs).toEqual([]);
      expect(attackerRequests).toEqual([]);
      expect(consoleErrors).toEqual([]);
      await page.context().close();
    }
  });

  it('retries a failed job from its page: pending until a host answers, then seen completed', async () => {
    const page = await signedInPage();
    await page.goto(`/jobs/${rowIds.get('retry')}`);
    await page.getByRole('heading', { name: /sync-crm/ }).waitFor(WAIT);
    writeFileSync(RETRY_FILE, 'fixed');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('A host re-queued the job.').waitFor(WAIT);
    await page.getByRole('heading', { name: /sync-crm completed/ }).waitFor(WAIT);
    // Done: no more actions on a job that no longer failed.
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await page.context().close();
  });

  it('shows a viewer no action buttons, and the API refuses the same action with 403', async () => {
    const context = await viewerContext(browser, stack);
    const page = await context.newPage();
    await page.goto(`/jobs/${rowIds.get('hostile')}`);
    await page.getByRole('heading', { name: /failed/ }).waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    const forced = await context.request.post(`/api/failed/${rowIds.get('hostile')}/retry`, {
      headers: { origin: stack.baseURL },
    });
    expect(forced.status()).toBe(403);
    await context.close();
  });

  it('passes axe-core on the Jobs and Job pages, and screenshots them', async () => {
    const violations: unknown[] = [];
    for (const [name, path] of [
      ['jobs', '/jobs'],
      ['job', `/jobs/${rowIds.get('hostile')}`],
    ] as const) {
      const written = await screenshotEverywhere(
        browser,
        name,
        async (page, context) => {
          await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
          await page.goto(path);
          await page.getByText('<img src=x onerror=alert(7)>').first().waitFor(WAIT);
        },
        async (page, where) => {
          await collectAxeViolations(violations, page, `${name} ${where}`);
          if (name !== 'jobs') return;
          // The list reads without a sideways swipe: on a phone each job is a card.
          expect(
            await page
              .locator('.table-scroll[aria-label="Jobs"]')
              .evaluate((box) => box.scrollWidth - box.clientWidth),
            `the Jobs list scrolls sideways (${where})`,
          ).toBe(0);
        },
      );
      expect(written).toHaveLength(4);
    }
    expect(violations).toEqual([]);
  });
});
