import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import {
  collectAxeViolations,
  SCREENSHOTS,
  screenshotEverywhere,
  seriousAxeViolations,
  signInContext,
  viewerContext,
} from './support/pages';

/**
 * The Failed page in Chromium, over jobs a real worker-host ran and failed (the test processor
 * throws), retried and deleted by that host through the page's commands. One stack and one browser
 * for the file.
 */
let stack: DashboardStack;
let browser: TestBrowser;
const WAIT = { timeout: 45_000, interval: 250 };

const stamp = `${process.pid}-${Date.now()}`;
/** The jobs fail until the test creates these files: "fixed" before they are retried. */
const PAIR_FILE = join(tmpdir(), `watchtower-failed-pair-${stamp}`);
const BULK_FILE = join(tmpdir(), `watchtower-failed-bulk-${stamp}`);
const BULK_JOBS = 30;
const DELETE_JOBS = 5;
/** A word only one job's exception holds, on its first line; the second line only on the job's page. */
const SEARCH_WORD = 'zebrafish';
const SECOND_LINE = 'second-line-marker';
const HOSTILE_NAME = '<img src=x onerror=alert(9)>';

/** Every job the file makes, BullMQ id → row id once the recorder has it failed. */
const rowIds = new Map<string, number>();

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.baseURL}${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

type Listed = { jobs: Array<{ id: number; jobId: string; status: string; name: string }> };

/** Waits until the recorder has every one of `jobs` with `status`; returns their row ids. */
async function waitForJobs(jobs: Job[], status: string): Promise<number[]> {
  const wanted = new Set(jobs.map((job) => job.id));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { jobs: rows } = await api<Listed>(
      `/api/jobs?queue=${encodeURIComponent(stack.queue.name)}&status=${status}&limit=200`,
    );
    const found = rows.filter((row) => wanted.has(row.jobId));
    if (found.length === wanted.size) {
      for (const row of found) rowIds.set(row.jobId, row.id);
      return found.map((row) => row.id);
    }
    if (Date.now() > deadline)
      throw new Error(`${found.length} of ${wanted.size} jobs were recorded ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function addJobs(name: string, count: number, data: Record<string, unknown>): Promise<Job[]> {
  return stack.queue.addBulk(
    Array.from({ length: count }, (_, index) => ({ name, data: { ...data, index } })),
  );
}

let searched: Job;
let pair: Job[];
let bulk: Job[];
let deleted: Job[];
let single: Job;

beforeAll(async () => {
  stack = await startDashboardStack('browser_failed');
  browser = await launchChromium(stack.baseURL);
  searched = await stack.queue.add('charge-card', {
    failWith: `payment gateway unreachable (${SEARCH_WORD})\nretry budget: ${SECOND_LINE}`,
  });
  const other = await stack.queue.add('charge-card', { failWith: 'card declined by the issuer' });
  const hostile = await stack.queue.add(HOSTILE_NAME, {
    failWith: `<script>alert(10)</script> ${'W'.repeat(600)}`,
  });
  pair = await addJobs('sync-pair', 2, { failUnlessFile: PAIR_FILE });
  bulk = await addJobs('bulk-retry', BULK_JOBS, { failUnlessFile: BULK_FILE });
  deleted = await addJobs('bulk-delete', DELETE_JOBS, { fail: true });
  single = await stack.queue.add('delete-one', { fail: true });
  await waitForJobs([searched, other, hostile, ...pair, ...bulk, ...deleted, single], 'failed');
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

/**
 * Records every value `attribute` takes on elements matching `selector` from now on (a
 * MutationObserver in the page): proof that a state was shown, however briefly, without timing.
 */
async function watchAttribute(
  page: Page,
  selector: string,
  attribute: string,
): Promise<() => Promise<string[]>> {
  await page.evaluate(`(() => {
    const seen = (window.__seen = new Set());
    const look = () => document.querySelectorAll(${JSON.stringify(selector)}).forEach((element) =>
      seen.add(element.getAttribute(${JSON.stringify(attribute)})));
    look();
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
  })()`);
  return async () => (await page.evaluate('[...window.__seen]')) as string[];
}

const rows = (page: Page) => page.locator('table.failed-table tbody tr');

// Each step may wait up to WAIT on two loaded cores; a scenario has several.
describe('the Failed page in Chromium', { timeout: 180_000 }, () => {
  it('finds a failed job by a word of its exception, shown by its first line, in full on its page', async () => {
    const page = await signedInPage();
    await page.goto('/failed');
    await page.getByRole('heading', { name: 'Failed jobs' }).waitFor(WAIT);
    await page.getByLabel('Search').fill(SEARCH_WORD);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(new RegExp(`[?&]search=${SEARCH_WORD}`), WAIT);
    await expect.poll(() => rows(page).count(), WAIT).toBe(1);
    const row = rows(page).first();
    expect(await row.getAttribute('data-job-id')).toBe(searched.id);
    const text = (await row.textContent()) ?? '';
    expect(text).toContain(`payment gateway unreachable (${SEARCH_WORD})`);
    expect(text).not.toContain(SECOND_LINE);

    // The filter lives in the URL: a reload shows the same.
    await page.reload();
    await expect.poll(() => rows(page).count(), WAIT).toBe(1);
    expect(await page.getByLabel('Search').inputValue()).toBe(SEARCH_WORD);

    await row.getByRole('link', { name: 'charge-card' }).click();
    await page.waitForURL(new RegExp(`/jobs/${rowIds.get(searched.id ?? '')}$`), WAIT);
    await page.getByRole('region', { name: 'Exception' }).getByText(SECOND_LINE).waitFor(WAIT);
    await page.context().close();
  });

  it('retries a selection of two jobs: each pending until the host answers, then seen completed', async () => {
    const page = await signedInPage();
    await page.goto('/failed?name=sync-pair');
    await expect.poll(() => rows(page).count(), WAIT).toBe(2);
    const selectAll = page.getByLabel('Select all failed jobs on this page');
    await selectAll.check();
    await page.getByText('2 selected').waitFor(WAIT);
    await selectAll.uncheck();
    await page.getByText('Select jobs to act on them').waitFor(WAIT);
    for (const job of pair) await page.getByLabel(`Select sync-pair #${job.id}`).check();
    await page.getByText('2 selected').waitFor(WAIT);
    expect(await selectAll.isChecked()).toBe(true);

    writeFileSync(PAIR_FILE, 'fixed');
    const outcomes = await watchAttribute(page, '.sent-commands li', 'data-outcome');
    await page.getByRole('button', { name: 'Retry selected' }).click();
    const sent = page.locator('.sent-commands li');
    await expect.poll(() => sent.count(), WAIT).toBe(2);
    await expect
      .poll(() => sent.evaluateAll((items) => items.map((item) => item.getAttribute('data-outcome'))), WAIT)
      .toEqual(['ok', 'ok']);
    expect(await sent.allTextContents()).toEqual([
      expect.stringContaining('Re-queued'),
      expect.stringContaining('Re-queued'),
    ]);
    expect((await outcomes()).sort()).toEqual(['ok', 'pending']);
    await page.screenshot({ path: join(SCREENSHOTS, 'failed-sent-light-desktop.png'), fullPage: true });
    // They leave the failed list, and the matching count follows: never "2 match" beside an empty list.
    await page.getByText('No failed job matches these filters.').waitFor(WAIT);
    await expect.poll(() => page.locator('[data-matching-count]').textContent(), WAIT).toBe('0');
    // And they run to completion on the host.
    await waitForJobs(pair, 'completed');
    await page.goto('/jobs?name=sync-pair&status=completed');
    await expect
      .poll(() => page.locator('tbody .status').allTextContents(), WAIT)
      .toEqual(['completed', 'completed']);
    await page.context().close();
  });

  it('retries every job matching a filter: the count first, a confirmation, then progress to the end', async () => {
    const page = await signedInPage();
    await page.goto('/failed?name=bulk-retry');
    await expect
      .poll(() => page.locator('[data-matching-count]').textContent(), WAIT)
      .toBe(String(BULK_JOBS));
    const open = page.getByRole('button', { name: `Retry ${BULK_JOBS} matching jobs…` });
    await open.click();
    const dialog = page.getByRole('dialog', { name: `Retry ${BULK_JOBS} failed jobs?` });
    await dialog.waitFor(WAIT);
    const said = (await dialog.textContent()) ?? '';
    expect(said).toContain('connection default');
    expect(said).toContain('bulk-retry');
    expect(said).toContain(`${BULK_JOBS} jobs match now`);
    // Focus starts on Cancel and stays in the dialog; Escape closes it and gives focus back.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
      await page.keyboard.press(key);
      expect(await page.evaluate(`document.activeElement?.closest('dialog[open]') !== null`), key).toBe(true);
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ ...WAIT, state: 'hidden' });
    expect(await page.evaluate('document.activeElement?.textContent')).toBe(
      `Retry ${BULK_JOBS} matching jobs…`,
    );

    writeFileSync(BULK_FILE, 'fixed');
    await open.click();
    await dialog.waitFor(WAIT);
    const progressSeen = await watchAttribute(page, '.bulk-run', 'data-status');
    await dialog.getByRole('button', { name: `Retry ${BULK_JOBS} jobs` }).click();
    const progress = page.getByRole('progressbar', { name: 'Retry all matching: progress' });
    await progress.waitFor(WAIT);
    await expect.poll(() => page.locator('.bulk-run').getAttribute('data-status'), WAIT).toBe('done');
    expect(await progress.getAttribute('max')).toBe(String(BULK_JOBS));
    expect(await progress.getAttribute('value')).toBe(String(BULK_JOBS));
    expect(await page.locator('.bulk-run [role="status"]').textContent()).toContain(
      `Done: ${BULK_JOBS} processed, ${BULK_JOBS} retried (${BULK_JOBS} re-queued, 0 re-added`,
    );
    // The bar was there from the moment the command was sent, before the host's answer.
    expect(await progressSeen()).toContain('pending');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'failed-bulk-done-light-desktop.png'), fullPage: true });
    // The count and the list follow: nothing matches any more.
    await expect.poll(() => page.locator('[data-matching-count]').textContent(), WAIT).toBe('0');
    await page.getByText('No failed job matches these filters.').waitFor(WAIT);

    await waitForJobs(bulk, 'completed');
    await page.goto('/jobs?name=bulk-retry&status=completed&limit=50');
    await expect
      .poll(() => page.locator('tbody .status').allTextContents(), WAIT)
      .toEqual(Array.from({ length: BULK_JOBS }, () => 'completed'));
    await page.context().close();
  });

  it('deletes one job, then every job matching a filter, from their queues', async () => {
    const page = await signedInPage();
    await page.goto('/failed?name=delete-one');
    await expect.poll(() => rows(page).count(), WAIT).toBe(1);
    await page.getByRole('button', { name: `Delete delete-one #${single.id}` }).click();
    const confirmOne = page.getByRole('dialog', { name: `Delete delete-one #${single.id}?` });
    await confirmOne.getByRole('button', { name: 'Delete' }).click();
    await page
      .locator('.sent-commands li[data-outcome="ok"]')
      .getByText('Deleted from its queue')
      .waitFor(WAIT);
    await page.getByText('No failed job matches these filters.').waitFor(WAIT);

    await page.goto('/failed?name=bulk-delete');
    await expect
      .poll(() => page.locator('[data-matching-count]').textContent(), WAIT)
      .toBe(String(DELETE_JOBS));
    await page.getByRole('button', { name: `Delete ${DELETE_JOBS} matching jobs…` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${DELETE_JOBS} failed jobs?` });
    expect(await dialog.textContent()).toContain('removed from their queues');
    await dialog.getByRole('button', { name: `Delete ${DELETE_JOBS} jobs` }).click();
    await page.getByRole('progressbar', { name: 'Delete all matching: progress' }).waitFor(WAIT);
    await expect
      .poll(() => page.locator('.bulk-run [role="status"]').textContent(), WAIT)
      .toContain(`Done: ${DELETE_JOBS} processed, ${DELETE_JOBS} deleted`);
    await page.getByText('No failed job matches these filters.').waitFor(WAIT);

    // Gone from BullMQ, and recorded deleted.
    for (const job of [single, ...deleted]) expect(await stack.queue.getJob(job.id ?? '')).toBeUndefined();
    await waitForJobs([single, ...deleted], 'deleted');
    await page.context().close();
  });

  it('shows a viewer no checkboxes or action buttons, and the API refuses a forced bulk retry with 403', async () => {
    const context = await viewerContext(browser, stack);
    const page = await context.newPage();
    await page.goto('/failed?name=charge-card');
    await expect.poll(() => rows(page).count(), WAIT).toBe(2);
    expect(await page.locator('main input[type="checkbox"]').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Retry|Delete/ }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'All matching this filter' }).count()).toBe(0);
    const forced = await context.request.post('/api/failed/retry', {
      headers: { origin: stack.baseURL },
      data: { filter: { name: 'charge-card' } },
    });
    expect(forced.status()).toBe(403);
    // Nothing was retried.
    expect((await api<Listed>('/api/failed?name=charge-card')).jobs).toHaveLength(2);
    await context.close();
  });

  it('passes axe-core on the list and the confirmation, light and dark, desktop and phone, and screenshots them', async () => {
    const violations: unknown[] = [];
    const check = (name: string) => async (page: Page, where: string) => {
      await collectAxeViolations(violations, page, `${name} ${where}`);
    };
    const list = await screenshotEverywhere(
      browser,
      'failed',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto('/failed');
        await page.getByText(HOSTILE_NAME).first().waitFor(WAIT);
        await page.locator('[data-matching-count]').waitFor(WAIT);
      },
      check('failed'),
    );
    const confirm = await screenshotEverywhere(
      browser,
      'failed-confirm',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto('/failed?search=declined');
        await expect.poll(() => page.locator('[data-matching-count]').textContent(), WAIT).toBe('1');
        await page.getByRole('button', { name: 'Delete 1 matching job…' }).click();
        await page.getByRole('dialog', { name: 'Delete 1 failed job?' }).waitFor(WAIT);
      },
      check('failed-confirm'),
    );
    expect([...list, ...confirm]).toHaveLength(8);
    expect(violations).toEqual([]);
  });
});
