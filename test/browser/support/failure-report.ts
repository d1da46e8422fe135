/**
 * LOCAL TEST TOOLING (a vitest setup file): when a test of a file that launched Chromium fails,
 * every open page is screenshotted into .build/screenshots/failed/ and its URL, console errors,
 * uncaught errors, failed requests and error responses are printed beside the failure, so that a
 * failure seen once on a loaded machine says what the page showed instead of only "timed out".
 */
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openBrowsers } from './open-browsers';

const FAILED_SCREENSHOTS = join(process.cwd(), '.build/screenshots/failed');

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail' || openBrowsers.size === 0) return;
  const prefix = `${context.task.file.name.split('/').pop()}-${context.task.name}`
    .replace(/[^a-z0-9-]+/gi, '-')
    .slice(0, 120);
  const lines: string[] = [];
  for (const browser of openBrowsers) {
    const written = await browser.screenshot(FAILED_SCREENSHOTS, prefix).catch((error: unknown) => {
      lines.push(`(screenshots failed: ${(error as Error).message})`);
      return [];
    });
    lines.push(browser.describe(), ...written.map((path) => `screenshot: ${path}`));
  }
  console.error(`\nWhat the pages showed when "${context.task.name}" failed:\n${lines.join('\n')}\n`);
});
