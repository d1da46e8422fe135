import { readFileSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import { screenshotEverywhere, seriousAxeViolations, signInContext } from './support/pages';

/**
 * A job whose data holds a 5 MB string, run by a real worker-host that keeps payloads up to 8 MB
 * (recorder.maxPayloadBytes), opened in Chromium: the page shows the start of it and its size at
 * once, and "Show all", Copy and Download give the whole of it.
 */
let stack: DashboardStack;
let browser: TestBrowser;
let rowId = 0;
const WAIT = { timeout: 45_000, interval: 250 };
const FIVE_MB = 5 * 1024 * 1024;

/** Sentences, not one letter repeated: what a real export looks like, and what wraps like one. */
function bigText(): string {
  const words = ['invoice', 'customer', 'amount', 'paid', 'overdue', 'Lisbon', 'Zürich', 'Kraków', 'ok'];
  let text = '';
  for (let i = 0; text.length < FIVE_MB; i++) text += `row ${i}: ${words[i % words.length]} ${i * 7} EUR; `;
  return text.slice(0, FIVE_MB);
}
const DATA = { customer: 'acme', export: bigText(), end: 'the last field' };
/** What the page shows: the stored payload (jsonb orders keys its own way) with two spaces. */
let FORMATTED = '';

/**
 * Long tasks of the page from its first byte: the observer is registered before any script of the
 * page runs, `buffered` so none is missed.
 */
const LONG_TASKS = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(Math.round(entry.duration));
  }).observe({ type: 'longtask', buffered: true });
`;

async function longTasks(page: Page): Promise<number[]> {
  return page.evaluate('window.__longTasks.slice()') as Promise<number[]>;
}

async function signedInContext(options: { phone?: boolean; colorScheme?: 'light' | 'dark' } = {}) {
  const context = await browser.newContext(options);
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  await context.addInitScript(LONG_TASKS);
  return context;
}

/** Opens the job and waits for the start of its data and for the whole text to be counted. */
async function openJob(page: Page): Promise<void> {
  await page.goto(`/jobs/${rowId}`);
  await page.getByRole('region', { name: 'Job data' }).waitFor(WAIT);
  await page
    .getByText(`Showing 10,000 of ${FORMATTED.length.toLocaleString('en-US')} characters.`)
    .waitFor(WAIT);
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_big_payload', {
    recorder: { maxPayloadBytes: 8 * 1024 * 1024 },
  });
  browser = await launchChromium(stack.baseURL);
  const job = await stack.queue.add('import-export', DATA);
  const deadline = Date.now() + 90_000;
  while (rowId === 0) {
    const response = await fetch(`${stack.baseURL}/api/jobs?queue=${encodeURIComponent(stack.queue.name)}`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const body = (await response.json()) as { jobs: Array<{ id: number; jobId: string; status: string }> };
    const row = body.jobs.find((candidate) => candidate.jobId === job.id && candidate.status === 'completed');
    if (row) {
      rowId = row.id;
      const detail = await fetch(`${stack.baseURL}/api/jobs/${rowId}`, {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      });
      FORMATTED = JSON.stringify(((await detail.json()) as { payload: unknown }).payload, null, 2);
    } else if (Date.now() > deadline) throw new Error(`job ${job.id} was not recorded completed within 90 s`);
    else await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('a job with a 5 MB payload in Chromium', { timeout: 300_000 }, () => {
  let context: BrowserContext;
  let page: Page;

  it('is stored whole by the host with the raised cap', async () => {
    const response = await fetch(`${stack.baseURL}/api/jobs/${rowId}`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const job = (await response.json()) as { payload: unknown; payloadTruncated: boolean; dataSize: number };
    expect(job.payloadTruncated).toBe(false);
    expect(job.dataSize).toBe(Buffer.byteLength(JSON.stringify(DATA)));
    expect(job.payload).toEqual(DATA);
  });

  // How long the main thread's tasks take is measured by `npm run bench:browser` (the longest task
  // while the 5 MB job opens), not asserted here: a timed assertion fails on a busy machine, not
  // when the page regresses. What keeps the tasks short is checked: only the first screenful is
  // formatted when the page opens, the rest only on demand.
  it('opens at once: only the start of the data is formatted, with its size', async () => {
    context = await signedInContext();
    page = await context.newPage();
    await openJob(page);
    const shown = (await page.getByRole('region', { name: 'Job data' }).textContent()) ?? '';
    expect(shown).toBe(FORMATTED.slice(0, 10_000));
    expect(shown).toContain('\n  "export": "row 0: invoice 0 EUR; row 1: customer 7 EUR; ');
    expect(shown.length).toBe(10_000);
    const size = Buffer.byteLength(JSON.stringify(DATA)).toLocaleString('en-US');
    await expect.poll(() => page.locator('dd', { hasText: `${size} bytes` }).count(), WAIT).toBe(1);
    expect(await page.getByText(/kept only the start/).count()).toBe(0);
    console.log(`long tasks while opening the 5 MB job: ${JSON.stringify(await longTasks(page))} ms`);
  });

  it('shows all of it on demand in the scrolling box, to its end', async () => {
    const before = (await longTasks(page)).length;
    await page.getByRole('button', { name: 'Show all' }).click();
    await page.getByText(`Showing all ${FORMATTED.length.toLocaleString('en-US')} characters.`).waitFor(WAIT);
    const region = page.getByRole('region', { name: 'Job data' });
    expect(await region.evaluate((element) => element.textContent)).toBe(FORMATTED);
    // The end of the text, scrolled to, is laid out and visible.
    await region.evaluate((element) => {
      element.scrollTop = element.scrollHeight;
    });
    await page.getByText('"end": "the last field"').waitFor({ ...WAIT, state: 'visible' });
    const tasks = (await longTasks(page)).slice(before);
    console.log(`long tasks while showing all of it and scrolling to its end: ${JSON.stringify(tasks)} ms`);
  });

  it('downloads and copies the whole text', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', WAIT),
      page.getByRole('link', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`job-${rowId}-data.json`);
    expect(readFileSync(await download.path(), 'utf8')).toBe(FORMATTED);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy the data' }).click();
    await page.getByText('Copied').waitFor(WAIT);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(FORMATTED);
    await context.close();
  });

  it('has no serious axe violation, light and dark, desktop and phone, and is screenshotted', async () => {
    // axe runs on the very pages the screenshots show, so each state is opened once.
    const violations: Record<string, unknown[]> = {};
    await screenshotEverywhere(
      browser,
      'big-payload',
      async (view, viewContext) => {
        await signInContext(viewContext, stack.baseURL, stack.admin.email, stack.admin.password);
        await openJob(view);
      },
      async (view, where) => {
        violations[where] = await seriousAxeViolations(view);
      },
    );
    await screenshotEverywhere(
      browser,
      'big-payload-all',
      async (view, viewContext) => {
        await signInContext(viewContext, stack.baseURL, stack.admin.email, stack.admin.password);
        await openJob(view);
        await view.getByRole('button', { name: 'Show all' }).click();
        await view.getByText(/Showing all [\d,]+ characters/).waitFor(WAIT);
        // Halfway down the box: what a reader scrolling through it sees.
        await view.getByRole('region', { name: 'Job data' }).evaluate((element) => {
          element.scrollTop = element.scrollHeight / 2;
        });
        await view.getByRole('region', { name: 'Job data' }).focus();
      },
      async (view, where) => {
        // Once, light on the desktop: axe walks every text node, and all of it is 80 blocks of 64 K.
        if (where === 'light desktop') violations[`${where}, all of it`] = await seriousAxeViolations(view);
      },
    );
    expect(Object.keys(violations)).toHaveLength(5);
    for (const [where, found] of Object.entries(violations)) expect(found, where).toEqual([]);
  });
});
