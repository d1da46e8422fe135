/**
 * LOCAL TEST TOOLING: Debian's chromium driven by playwright-core (no browser download: Playwright's
 * own cannot be fetched here). `.ci/run` installs the package when it is missing.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.WATCHTOWER_TEST_CHROMIUM ?? '/usr/bin/chromium';

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
  return {
    browser,
    newContext: (options = {}) =>
      browser.newContext({
        baseURL,
        colorScheme: options.colorScheme ?? 'light',
        viewport: options.phone ? { width: 390, height: 844 } : { width: 1366, height: 768 },
        deviceScaleFactor: 1,
        isMobile: options.phone ?? false,
        hasTouch: options.phone ?? false,
      }),
    close: () => browser.close(),
  };
}
