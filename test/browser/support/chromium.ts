/**
 * LOCAL TEST TOOLING: Debian's chromium driven by playwright-core (no browser download: Playwright's
 * own cannot be fetched here). `.ci/run` installs the package when it is missing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  chromium,
  errors,
  type Page,
  type Request,
} from 'playwright-core';
import { openBrowsers } from './open-browsers';

export const CHROMIUM_PATH = process.env.WATCHTOWER_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * How long a navigation may take before it is tried once more. `wrangler dev` (local development
 * tooling, not what serves the dashboard in production) now and then leaves one request without an
 * answer while three test files share the two cores: a fresh-clone run once waited 30 s for the
 * dashboard's own script, with the HTML answered and nothing else pending, and the page stayed blank.
 * Every navigation of these tests loads in well under a second otherwise; a second try that also
 * times out fails the test as before.
 */
const NAVIGATION_TRY_MS = 10_000;

const FLAGS = [
  '--headless',
  // Root (CI, these machines) cannot use Chromium's sandbox.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own cookies and storage) for one scenario. */
  newContext(options?: { colorScheme?: 'light' | 'dark'; phone?: boolean }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(baseURL: string): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM_PATH}, and it is not there. Install it with ` +
        '`apt-get update && apt-get install -y chromium fonts-dejavu-core` (.ci/run does this), or point ' +
        'WATCHTOWER_TEST_CHROMIUM at a Chromium binary.',
    );
  }
  // launch() gives Chromium a fresh temporary profile (--user-data-dir) of its own and removes it on
  // close, so nothing of an earlier run (cookies, cache) leaks in.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS, timeout: 60_000 });
  const events = new WeakMap<Page, string[]>();
  // Requests a page sent and got no answer to yet, with when: a page left blank is often waiting.
  const inFlight = new WeakMap<Page, Map<Request, number>>();
  const watch = (page: Page) => {
    retryStalledNavigation(page);
    const log: string[] = [];
    events.set(page, log);
    const pending = new Map<Request, number>();
    inFlight.set(page, pending);
    page.on('request', (request) => pending.set(request, Date.now()));
    page.on('requestfinished', (request) => pending.delete(request));
    page.on('requestfailed', (request) => pending.delete(request));
    const note = (line: string) => {
      log.push(`${new Date().toISOString().slice(11, 23)} ${line.slice(0, 500)}`);
      if (log.length > 40) log.shift();
    };
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        note(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => note(`uncaught: ${error.message}`));
    page.on('requestfailed', (request) =>
      note(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
    );
    page.on('response', (response) => {
      if (response.status() >= 400)
        note(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
    });
  };
  const pages = () => browser.contexts().flatMap((context) => context.pages());
  const diagnosis = {
    describe: () =>
      pages()
        .map((page) =>
          [
            `page ${page.url()}`,
            ...(events.get(page) ?? []).map((line) => `  ${line}`),
            ...[...(inFlight.get(page) ?? new Map<Request, number>())].map(
              ([request, since]) =>
                `  no answer yet after ${Date.now() - since} ms: ${request.method()} ${request.url()}`,
            ),
          ].join('\n'),
        )
        .join('\n'),
    async screenshot(directory: string, prefix: string) {
      mkdirSync(directory, { recursive: true });
      const written: string[] = [];
      for (const [index, page] of pages().entries()) {
        const path = join(directory, `${prefix}-${index + 1}.png`);
        await page.screenshot({ path, timeout: 10_000 });
        written.push(path);
      }
      return written;
    },
  };
  openBrowsers.add(diagnosis);
  return {
    browser,
    newContext: async (options = {}) => {
      const context = await browser.newContext({
        baseURL,
        colorScheme: options.colorScheme ?? 'light',
        viewport: options.phone ? { width: 390, height: 844 } : { width: 1366, height: 768 },
        deviceScaleFactor: 1,
        isMobile: options.phone ?? false,
        hasTouch: options.phone ?? false,
      });
      context.on('page', watch);
      return context;
    },
    close: () => {
      openBrowsers.delete(diagnosis);
      return browser.close();
    },
  };
}

/** Makes `page.goto` try once more, and say so, when a navigation stalls (NAVIGATION_TRY_MS). */
function retryStalledNavigation(page: Page): void {
  const goto = page.goto.bind(page);
  page.goto = async (url, options) => {
    try {
      return await goto(url, { ...options, timeout: NAVIGATION_TRY_MS });
    } catch (error) {
      if (!(error instanceof errors.TimeoutError)) throw error;
      process.stderr.write(
        `browser tests: ${url} did not load within ${NAVIGATION_TRY_MS / 1000} s; loading it once more\n`,
      );
      return goto(url, options);
    }
  };
}
