/**
 * `npm run bench:browser`: the dashboard as users get it, in the real Chromium.
 *
 * The shipped path, as the browser tests run it (test/browser/support/dashboard-stack.ts): the
 * dashboard built by Vite, served with the API by the Cloudflare Worker in workerd through
 * `wrangler dev`, a real worker-host (its recorder raised to keep 8 MB payloads) running real
 * BullMQ jobs into a database of its own (`watchtower_bench_browser`, made afresh), and Debian's
 * Chromium through playwright-core. Prints:
 *
 * - the bundle sizes, gzip: what the first page loads, and each chunk;
 * - the time from navigation to the first stat shown on the Overview, with no jobs and with 1,000,
 *   beside an empty static page's load in the same browser;
 * - the time from navigation to a job's data shown, for a 5 MB payload beside a tiny one, and the
 *   longest main-thread task while it opens;
 * - the longest main-thread task while the Jobs page scrolls through 1,000 rows (5 pages of 200,
 *   the API's largest page: scrolled to the bottom a frame at a time, then "Next page"), beside
 *   the same scroll over a static table of 1,000 rows.
 *
 * "Shown" is the animation frame after the element appeared (a MutationObserver in the page,
 * then requestAnimationFrame): the frame that paints it. Times are from the navigation's start
 * (performance.now() in the page). Each figure is the median of BROWSER_BENCH_RUNS fresh pages (5).
 *
 * Environment: WATCHTOWER_BENCH_BROWSER_DATABASE_URL
 * (postgres://postgres@127.0.0.1:5432/watchtower_bench_browser), BROWSER_BENCH_RUNS (5),
 * WATCHTOWER_TEST_CHROMIUM (/usr/bin/chromium).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { initialBundleSizes } from '../../scripts/build-web';
import { launchChromium, type TestBrowser } from '../browser/support/chromium';
import { type DashboardStack, startDashboardStack } from '../browser/support/dashboard-stack';
import { signInContext } from '../browser/support/pages';
import { repoRoot } from '../worker-host/harness';

const RUNS = Number(process.env.BROWSER_BENCH_RUNS ?? 5);
const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_BROWSER_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/watchtower_bench_browser';
const FIVE_MB = 5 * 1024 * 1024;
const ROWS = 1_000;
const PAGE_ROWS = 200;
const WAIT = { timeout: 60_000 };

/**
 * In every page before its own scripts: long tasks from the first byte, and the frame in which the
 * first stat and a job's data appear. A string, so nothing of the bench's own build leaks in.
 */
const INSTRUMENT = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
  window.__marks = {};
  const mark = (name) => {
    if (window.__marks[name] !== undefined) return;
    window.__marks[name] = -1;
    requestAnimationFrame(() => { window.__marks[name] = performance.now(); });
  };
  const check = () => {
    const stat = document.querySelector('[data-stat] dd');
    if (stat && /\\d/.test(stat.textContent)) mark('firstStat');
    const data = document.querySelector('section[aria-label="Job data"] pre');
    if (data && data.textContent.length > 0) mark('payload');
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
`;

/** Scrolls the page to its bottom, 600 px a frame, and resolves when there. */
const SCROLL_TO_BOTTOM = `new Promise((resolve) => {
  const step = () => {
    const before = window.scrollY;
    window.scrollBy(0, 600);
    if (window.scrollY === before) resolve(undefined);
    else requestAnimationFrame(step);
  };
  window.scrollTo(0, 0);
  requestAnimationFrame(step);
})`;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const ms = (value: number) => `${Math.round(value)} ms`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const spread = (values: number[]) =>
  `median ${ms(median(values))} (min ${ms(Math.min(...values))}, max ${ms(Math.max(...values))}, ${values.length} runs)`;

/**
 * Polls an expression in the page until it is truthy. Not waitForFunction: its string form runs
 * through eval, which the dashboard's Content-Security-Policy refuses (page.evaluate does not).
 * The figures are taken in the page, so the polling's own delay is not in them.
 */
async function until(page: Page, expression: string): Promise<unknown> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const value = await page.evaluate(expression);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function mark(page: Page, name: string): Promise<number> {
  return (await until(page, `window.__marks.${name} > 0 && window.__marks.${name}`)) as number;
}

async function longestTask(page: Page, from = 0): Promise<number> {
  return page.evaluate(`Math.max(0, ...window.__longTasks.slice(${from}))`) as Promise<number>;
}

async function taskCount(page: Page): Promise<number> {
  return page.evaluate('window.__longTasks.length') as Promise<number>;
}

/** A static server beside the Worker: the baselines' empty page and plain 1,000-row table. */
async function startStaticServer(): Promise<{ url: string; server: Server }> {
  const rows = Array.from(
    { length: ROWS },
    (_, i) => `<tr><td>job-${i}</td><td>filler</td><td>completed</td><td>${i} ms</td></tr>`,
  ).join('');
  const pages: Record<string, string> = {
    '/empty': '<!doctype html><title>empty</title>',
    '/table': `<!doctype html><title>table</title><table>${rows}</table>`,
  };
  const server = createServer((request, response) => {
    const body = pages[request.url ?? ''];
    response.writeHead(body ? 200 : 404, { 'content-type': 'text/html' });
    response.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the static server has no port');
  return { url: `http://127.0.0.1:${address.port}`, server };
}

function newPage(context: BrowserContext): Promise<Page> {
  return context.newPage();
}

/** Row ids of jobs by name, once the recorder has them completed. */
async function completedJobs(stack: DashboardStack, name: string, count: number): Promise<number[]> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ name, status: 'completed', limit: String(PAGE_ROWS) });
      if (cursor) query.set('cursor', cursor);
      const response = await fetch(`${stack.baseURL}/api/jobs?${query}`, {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      });
      const body = (await response.json()) as { jobs: Array<{ id: number }>; nextCursor: string | null };
      ids.push(...body.jobs.map((job) => job.id));
      cursor = body.nextCursor;
    } while (cursor);
    if (ids.length >= count) return ids;
    if (Date.now() > deadline)
      throw new Error(`only ${ids.length} of ${count} "${name}" jobs were recorded in 3 min`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function bundleReport(): string[] {
  const dist = join(repoRoot, 'web/dist');
  const first = initialBundleSizes(dist);
  const lines = [
    `first page, gzip: JavaScript ${kb(first.js)}, CSS ${kb(first.css)}, HTML ${kb(first.html)}, together ${kb(first.js + first.css + first.html)} (budget: JavaScript 80 KB, together 120 KB)`,
  ];
  const assets = readdirSync(join(dist, 'assets'))
    .filter((file) => file.endsWith('.js') || file.endsWith('.css'))
    .map((file) => ({ file, bytes: gzipSync(readFileSync(join(dist, 'assets', file))).length }))
    .sort((a, b) => b.bytes - a.bytes);
  for (const { file, bytes } of assets) lines.push(`  ${file.padEnd(34)} ${kb(bytes).padStart(9)} gzip`);
  return lines;
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`browser bench: ${RUNS} runs per figure, load average ${loadavg()[0]?.toFixed(1)} on start`);
  const stack = await startDashboardStack('bench_browser', {
    databaseUrl: DATABASE_URL,
    recorder: { maxPayloadBytes: 8 * 1024 * 1024 },
  });
  const statics = await startStaticServer();
  let browser: TestBrowser | undefined;
  try {
    console.log('\nbundle (built by this run):');
    for (const line of bundleReport()) console.log(`  ${line}`);

    browser = await launchChromium(stack.baseURL);
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
    await context.addInitScript(INSTRUMENT);

    const empty: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const page = await newPage(context);
      await page.goto(`${statics.url}/empty`, { waitUntil: 'load' });
      empty.push(
        (await page.evaluate(`performance.getEntriesByType('navigation')[0].loadEventEnd`)) as number,
      );
      await page.close();
    }

    const overview = async (): Promise<number[]> => {
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const page = await newPage(context);
        await page.goto('/');
        times.push(await mark(page, 'firstStat'));
        await page.close();
      }
      return times;
    };
    const overviewEmpty = await overview();

    // The jobs: a 5 MB payload, a tiny one, and 1,000 fillers for the Jobs page, all run by the host.
    const bigText = 'x'.repeat(FIVE_MB);
    await stack.queue.add('big-payload', { text: bigText });
    await stack.queue.add('tiny-payload', { text: 'tiny' });
    await stack.queue.addBulk(Array.from({ length: ROWS }, (_, i) => ({ name: 'filler', data: { i } })));
    const [bigId] = await completedJobs(stack, 'big-payload', 1);
    const [tinyId] = await completedJobs(stack, 'tiny-payload', 1);
    await completedJobs(stack, 'filler', ROWS);
    const overviewFull = await overview();

    const openJob = async (id: number | undefined, long: boolean) => {
      const times: number[] = [];
      const tasks: number[] = [];
      const answers: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const page = await newPage(context);
        await page.goto(`/jobs/${id}`);
        times.push(await mark(page, 'payload'));
        // When the API's answer had fully arrived: the part of the figure the network and the
        // Worker (Postgres through Neon's driver, the JSON of 5 MB) take, before the page's own work.
        answers.push(
          (await page.evaluate(
            `performance.getEntriesByType('resource').find((entry) => /\\/api\\/jobs\\/\\d+$/.test(entry.name)).responseEnd`,
          )) as number,
        );
        // The rest of a long text is made in slices after it is shown: its tasks count too.
        if (long) await page.getByText(/Showing [\d,]+ of [\d,]+ characters\./).waitFor(WAIT);
        tasks.push(await longestTask(page));
        await page.close();
      }
      return { times, tasks, answers };
    };
    const tiny = await openJob(tinyId, false);
    const big = await openJob(bigId, true);

    const scrollRuns = Math.max(1, Math.min(RUNS, 3));
    const scrollJobs: number[] = [];
    const pageChanges: number[] = [];
    for (let run = 0; run < scrollRuns; run++) {
      const page = await newPage(context);
      await page.goto(`/jobs?name=filler&limit=${PAGE_ROWS}`);
      let longestScroll = 0;
      let longestChange = 0;
      for (let pageIndex = 0; pageIndex < ROWS / PAGE_ROWS; pageIndex++) {
        await page
          .locator('tbody tr')
          .nth(PAGE_ROWS - 1)
          .waitFor(WAIT);
        longestChange = Math.max(longestChange, await longestTask(page));
        const from = await taskCount(page);
        await page.evaluate(SCROLL_TO_BOTTOM);
        longestScroll = Math.max(longestScroll, await longestTask(page, from));
        if (pageIndex < ROWS / PAGE_ROWS - 1) {
          const before = await page.locator('tbody tr td:first-child').first().textContent();
          await page.getByRole('link', { name: 'Next page →' }).click();
          await until(
            page,
            `document.querySelector('tbody tr td:first-child')?.textContent !== ${JSON.stringify(before)}`,
          );
        }
      }
      scrollJobs.push(longestScroll);
      pageChanges.push(longestChange);
      await page.close();
    }
    const scrollTable: number[] = [];
    for (let run = 0; run < scrollRuns; run++) {
      const page = await newPage(context);
      await page.goto(`${statics.url}/table`);
      const from = await taskCount(page);
      await page.evaluate(SCROLL_TO_BOTTOM);
      scrollTable.push(await longestTask(page, from));
      await page.close();
    }

    console.log('\ntime to the first stat shown on the Overview (from navigation):');
    console.log(`  no jobs                                  ${spread(overviewEmpty)}`);
    console.log(`  ${ROWS + 2} jobs                               ${spread(overviewFull)}`);
    console.log(`  baseline: an empty static page's load    ${spread(empty)}`);
    console.log('\ntime to open a job, navigation to its data shown:');
    console.log(`  5 MB payload                             ${spread(big.times)}`);
    console.log(`    of which the API's answer arrived at   ${spread(big.answers)}`);
    console.log(`    longest main-thread task while opening ${spread(big.tasks)} (0: none over 50 ms)`);
    console.log(`  baseline: a 15-byte payload              ${spread(tiny.times)}`);
    console.log(`    of which the API's answer arrived at   ${spread(tiny.answers)}`);
    console.log(`    longest main-thread task while opening ${spread(tiny.tasks)}`);
    console.log(
      `\nlongest main-thread task while the Jobs page scrolls ${ROWS} rows (${ROWS / PAGE_ROWS} pages of ${PAGE_ROWS}):`,
    );
    console.log(`  while scrolling                          ${spread(scrollJobs)}`);
    console.log(`  loading the pages (navigation, Next)     ${spread(pageChanges)}`);
    console.log(`  baseline: a static 1,000-row table       ${spread(scrollTable)}`);
    console.log(
      `\n(0 ms: no task over 50 ms, the browser's long-task threshold.) Load average ${loadavg()[0]?.toFixed(1)} at the end; ${((Date.now() - started) / 1000).toFixed(0)} s in all.`,
    );
    await context.close();
  } finally {
    await browser?.close();
    statics.server.close();
    await stack.close();
  }
}

await main();
