import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import { collectAxeViolations, screenshotEverywhere, signInContext } from './support/pages';

/**
 * The Jobs page kept current without moving rows under the reader, and the Job page's timeline of
 * runs with links to the worker process and host that ran each, over jobs a real worker-host ran
 * (its supervisor allows two tries). One stack and one browser for the file.
 */
let stack: DashboardStack;
let browser: TestBrowser;
const WAIT = { timeout: 45_000, interval: 250 };
const API = () => ({ authorization: `Bearer ${stack.adminToken}` });

interface ListedJob {
  id: number;
  jobId: string;
  name: string;
  status: string;
}

interface Detail {
  status: string;
  attempts: number;
  maxAttempts: number;
  workerId: string | null;
  hostId: string | null;
  attemptHistory: Array<{ attempt: number; status: string; workerId: string | null; hostId: string | null }>;
}

/** Files the jobs wait for: a job that runs until the test lets it end. */
const scratchFiles: string[] = [];
function releaseFile(label: string): string {
  const path = join(tmpdir(), `watchtower-timeline-${label}-${process.pid}-${Date.now()}`);
  scratchFiles.push(path);
  return path;
}

/** Row id of a BullMQ job once the recorder has it in this status. */
async function recorded(job: Job, status: string): Promise<number> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const response = await fetch(
      `${stack.baseURL}/api/jobs?queue=${encodeURIComponent(stack.queue.name)}&limit=200`,
      { headers: API() },
    );
    const body = (await response.json()) as { jobs: ListedJob[] };
    const row = body.jobs.find((candidate) => candidate.jobId === job.id && candidate.status === status);
    if (row) return row.id;
    if (Date.now() > deadline) throw new Error(`job ${job.id} was not recorded ${status} within 45 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function detailOf(id: number): Promise<Detail> {
  const response = await fetch(`${stack.baseURL}/api/jobs/${id}`, { headers: API() });
  return (await response.json()) as Detail;
}

const listUrl = (extra = '') => `/jobs?queue=${encodeURIComponent(stack.queue.name)}${extra}`;
/** The names in the rows, top to bottom. */
const rowNames = (page: Page) => page.locator('tbody tr td:first-child a').allTextContents();
const rowStatus = (page: Page, name: string) =>
  page
    .locator('tbody tr', { has: page.getByRole('link', { name, exact: true }) })
    .locator('.status')
    .textContent();

let flakyRowId = 0;

beforeAll(async () => {
  stack = await startDashboardStack('browser_job_timeline', { tries: 2 });
  browser = await launchChromium(stack.baseURL);
  await recorded(await stack.queue.add('first-job', {}), 'completed');
  // Fails its first run; the supervisor's second try succeeds.
  flakyRowId = await recorded(await stack.queue.add('flaky-job', { failFirst: true }), 'completed');
}, 240_000);

afterAll(async () => {
  // Jobs still waiting for their file end, so the host stops without cutting them off.
  for (const path of scratchFiles) writeFileSync(path, 'done');
  await browser?.close();
  await stack?.close();
  for (const path of scratchFiles) rmSync(path, { force: true });
}, 60_000);

async function signedInPage(): Promise<Page> {
  const context = await browser.newContext();
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  return context.newPage();
}

describe('the Jobs page kept current, and a job timeline', { timeout: 180_000 }, () => {
  it('announces new jobs on the first page instead of moving the rows; Show brings them in on top', async () => {
    const page = await signedInPage();
    await page.goto(listUrl());
    await expect.poll(() => rowNames(page), WAIT).toEqual(['flaky-job', 'first-job']);
    const notice = page.getByRole('status').filter({ hasText: /new job/ });

    const slowFile = releaseFile('slow');
    await recorded(await stack.queue.add('slow-job', { runUntilFile: slowFile }), 'processing');
    await notice.getByText('1 new job', { exact: true }).waitFor(WAIT);
    // Announced, not shown: the rows under the reader are those of before.
    expect(await rowNames(page)).toEqual(['flaky-job', 'first-job']);
    await notice.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => rowNames(page), WAIT).toEqual(['slow-job', 'flaky-job', 'first-job']);
    expect(await rowStatus(page, 'slow-job')).toBe('processing');
    // Focus goes to the newest job, not to the page, as the button goes.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('slow-job');
    expect(await notice.count()).toBe(0);

    // A status changes in place; a new job waits to be shown.
    // (The supervisor runs one job at a time: the new job runs once the slow one ends.)
    const fresh = await stack.queue.add('fresh-job', {});
    writeFileSync(slowFile, 'done');
    await recorded(fresh, 'completed');
    await expect.poll(() => rowStatus(page, 'slow-job'), WAIT).toBe('completed');
    await notice.getByText('1 new job', { exact: true }).waitFor(WAIT);
    expect(await rowNames(page)).toEqual(['slow-job', 'flaky-job', 'first-job']);
    await notice.getByRole('button', { name: 'Show', exact: true }).click();
    await expect
      .poll(() => rowNames(page), WAIT)
      .toEqual(['fresh-job', 'slow-job', 'flaky-job', 'first-job']);
    await page.context().close();
  });

  it('moves nothing oldest first: a new job is neither added nor announced', async () => {
    const page = await signedInPage();
    await page.goto(listUrl('&sort=oldest'));
    // At least the two jobs of beforeAll (more when the file runs in order).
    await expect.poll(async () => (await rowNames(page)).length, WAIT).toBeGreaterThanOrEqual(2);
    const before = await rowNames(page);
    const late = await stack.queue.add('late-job', {});
    await recorded(late, 'completed');
    // The page re-checked after the job was recorded: the answer holds it, the rows do not.
    await page.waitForResponse(
      async (response) =>
        new URL(response.url()).pathname === '/api/jobs' &&
        response.status() === 200 &&
        (await response.text()).includes('"late-job"'),
      WAIT,
    );
    expect(await rowNames(page)).toEqual(before);
    expect(await page.getByRole('button', { name: 'Show', exact: true }).count()).toBe(0);
    expect(await page.getByText(/new jobs?$/).count()).toBe(0);
    await page.context().close();
  });

  it('shows a job that failed once and then succeeded as a timeline with durations and links to its workers', async () => {
    const detail = await detailOf(flakyRowId);
    expect(detail).toMatchObject({ attempts: 2, maxAttempts: 2, hostId: stack.host.hostId });
    expect(detail.attemptHistory.map((attempt) => [attempt.attempt, attempt.status, attempt.hostId])).toEqual(
      [
        [1, 'failed', stack.host.hostId],
        [2, 'completed', stack.host.hostId],
      ],
    );

    const page = await signedInPage();
    await page.goto(`/jobs/${flakyRowId}`);
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await timeline.waitFor(WAIT);
    const steps = timeline.getByRole('listitem');
    expect(await timeline.locator('.step-title').allTextContents()).toEqual([
      'Queued',
      'Started',
      'Failed',
      'Retried',
      'Started',
      'Completed',
    ]);
    // Each step has its time, relative with the absolute time on hover.
    for (const index of [0, 1, 2, 3, 4, 5]) {
      const time = steps.nth(index).locator('time');
      expect(await time.getAttribute('title'), `step ${index}`).toMatch(/\d/);
      expect(await time.textContent()).toMatch(/ago|just now/);
    }
    expect(await steps.nth(1).textContent()).toMatch(/waited \d/);
    expect(await steps.nth(2).textContent()).toMatch(/ran \d+(\.\d)? (ms|s)/);
    expect(await steps.nth(2).textContent()).toContain('fails its first run on purpose');
    expect(await steps.nth(3).textContent()).toMatch(
      /put back to run again.*started \d+(\.\d)? (ms|s) after/,
    );
    expect(await steps.nth(5).textContent()).toMatch(/ran \d/);
    expect(await page.getByText('2 of 2 allowed').count()).toBe(1);

    // Each run links to the worker process that ran it, on its host, and to the host.
    const host = stack.host.hostId;
    for (const [index, attempt] of [
      [1, detail.attemptHistory[0]!],
      [4, detail.attemptHistory[1]!],
    ] as const) {
      const workerHref = `/workers?${new URLSearchParams({ host, worker: attempt.workerId! })}`;
      expect(await steps.nth(index).locator('a[data-link="worker"]').getAttribute('href')).toBe(workerHref);
      expect(await steps.nth(index).locator('a[data-link="host"]').getAttribute('href')).toBe(
        `/workers?${new URLSearchParams({ host })}`,
      );
    }
    const lastRun = page.locator('.facts a[data-link="worker"]');
    expect(await lastRun.getAttribute('href')).toBe(
      `/workers?${new URLSearchParams({ host, worker: detail.workerId! })}`,
    );
    await lastRun.click();
    await page.waitForURL(
      (url) => url.pathname === '/workers' && url.searchParams.get('host') === host,
      WAIT,
    );
    await page.context().close();
  });

  it('reads a job retried by hand past its tries as runs made of allowed, with the hand retry in its timeline', async () => {
    const fixFile = releaseFile('fix');
    const stubborn = await stack.queue.add('stubborn-job', { failUnlessFile: fixFile });
    const id = await recorded(stubborn, 'failed');
    // Failed for good: both tries made (the first failure is put back by the worker).
    await expect
      .poll(async () => {
        const { status, attempts } = await detailOf(id);
        return `${status} after ${attempts}`;
      }, WAIT)
      .toBe('failed after 2');
    writeFileSync(fixFile, 'fixed');
    const retry = await fetch(`${stack.baseURL}/api/failed/${id}/retry`, { method: 'POST', headers: API() });
    expect(retry.status).toBe(202);
    await recorded(stubborn, 'completed');

    const page = await signedInPage();
    await page.goto(`/jobs/${id}`);
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await timeline.waitFor(WAIT);
    expect(await timeline.locator('.step-title').allTextContents()).toEqual([
      'Queued',
      'Started',
      'Failed',
      'Retried',
      'Started',
      'Failed',
      'Retried',
      'Started',
      'Completed',
    ]);
    expect(await timeline.getByRole('listitem').nth(6).textContent()).toContain('retried by hand');
    expect(await page.getByText('3: 2 allowed, 1 more retried by hand').count()).toBe(1);
    await page.goto(listUrl('&name=stubborn-job'));
    await expect
      .poll(() => page.locator('tbody td.numeric').first().textContent(), WAIT)
      .toBe('3 (2 + 1 by hand)');
    await page.context().close();
  });

  it('passes axe-core with new jobs announced and on the timeline, and screenshots them', async () => {
    const violations: unknown[] = [];
    const jobs = await screenshotEverywhere(
      browser,
      'job-timeline-jobs',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto(listUrl());
        await page.locator('tbody tr').first().waitFor(WAIT);
        await recorded(await stack.queue.add('screenshot-job', {}), 'completed');
        await page.getByText(/^1 new job$/).waitFor(WAIT);
      },
      async (page, where) => {
        await collectAxeViolations(violations, page, `jobs ${where}`);
      },
    );
    const job = await screenshotEverywhere(
      browser,
      'job-timeline-job',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto(`/jobs/${flakyRowId}`);
        await page.getByRole('list', { name: 'Timeline' }).waitFor(WAIT);
      },
      async (page, where) => {
        await collectAxeViolations(violations, page, `job ${where}`);
      },
    );
    expect([...jobs, ...job]).toHaveLength(8);
    expect(violations).toEqual([]);
  });
});
