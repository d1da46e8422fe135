/** LOCAL TEST TOOLING: what the browser tests do on the dashboard's pages, and its screenshots. */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { repoRoot } from '../../worker-host/harness';
import type { TestBrowser } from './chromium';

export const SCREENSHOTS = join(repoRoot, '.build/screenshots');

/** Signs in through the form, as a person would. */
export async function signInThroughForm(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs a context in through the API (same cookie), for scenarios about something else. */
export async function signInContext(
  context: BrowserContext,
  baseURL: string,
  email: string,
  password: string,
) {
  const response = await context.request.post('/api/auth/login', {
    headers: { origin: baseURL },
    data: { email, password },
  });
  if (response.status() !== 200) throw new Error(`login: ${response.status()} ${await response.text()}`);
}

/** The number a stat card shows ("1,234" → 1234). */
export async function statValue(page: Page, stat: string): Promise<number> {
  const text = (await page.locator(`[data-stat="${stat}"] dd`).textContent()) ?? '';
  return Number(text.replace(/[^\d]/g, ''));
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
}

/**
 * axe-core's serious and critical violations on the page as it is. The script is evaluated through
 * the DevTools protocol, which the page's Content-Security-Policy does not govern.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // Runs in the page; the root tsconfig has no DOM types, so the global is reached untyped.
    const axe = (
      globalThis as unknown as { axe: { run(): Promise<{ violations: Array<Record<string, unknown>> }> } }
    ).axe;
    const result = await axe.run();
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({
        id: String(violation.id),
        impact: violation.impact === null ? null : String(violation.impact),
        help: String(violation.help),
        nodes: (violation.nodes as unknown[]).length,
      }));
  });
}

/** Adds the page's serious and critical axe violations to `into`, each with where it was found. */
export async function collectAxeViolations(into: unknown[], page: Page, where: string): Promise<void> {
  for (const violation of await seriousAxeViolations(page)) into.push({ ...violation, where });
}

/**
 * Screenshots of one page, light and dark, desktop (1366×768) and phone (390×844), into
 * .build/screenshots/<name>-<theme>-<device>.png. `open` brings a fresh page of each device to the
 * state to show, once; the page is then shown light and dark by switching the system's colour
 * scheme in place (as a laptop does at sunset), which also checks that the page follows it: charts
 * are redrawn (their `data-drawn-theme`). `inspect` runs on each of the four, after its screenshot
 * (axe, overflow), with where it is ("dark phone").
 */
export async function screenshotEverywhere(
  browser: TestBrowser,
  name: string,
  open: (page: Page, context: BrowserContext) => Promise<void>,
  inspect?: (page: Page, where: string) => Promise<void>,
): Promise<string[]> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const written: string[] = [];
  for (const phone of [false, true]) {
    const device = phone ? 'phone' : 'desktop';
    const context = await browser.newContext({ colorScheme: 'light', phone });
    const page = await context.newPage();
    let shot = `${name}-light-${device}.png`;
    try {
      await open(page, context);
      for (const colorScheme of ['light', 'dark'] as const) {
        shot = `${name}-${colorScheme}-${device}.png`;
        await page.emulateMedia({ colorScheme });
        // Every chart on the page drawn again in the scheme's colours (none: nothing to wait for).
        // (A locator, not a function: the page's Content-Security-Policy refuses evaluated strings.)
        await page
          .locator(`[data-drawn-theme]:not([data-drawn-theme="${colorScheme}"])`)
          .first()
          .waitFor({ state: 'detached', timeout: 10_000 });
        const path = join(SCREENSHOTS, shot);
        await page.screenshot({ path, fullPage: true });
        written.push(path);
        await inspect?.(page, `${colorScheme} ${device}`);
      }
    } catch (error) {
      // The context closes below, before the failure report could see it: keep the page now.
      const path = join(SCREENSHOTS, 'failed', shot);
      mkdirSync(join(SCREENSHOTS, 'failed'), { recursive: true });
      await page.screenshot({ path, timeout: 10_000 }).catch(() => undefined);
      if (error instanceof Error) error.message += `\n(what ${page.url()} showed: ${path})`;
      throw error;
    } finally {
      await context.close();
    }
  }
  return written;
}

/**
 * A browser context signed in as a new viewer (created through the API with the admin token), for
 * the role tests: a viewer sees no action buttons, and the API refuses the same action with 403.
 */
export async function viewerContext(
  browser: TestBrowser,
  stack: { baseURL: string; adminToken: string },
): Promise<BrowserContext> {
  const viewer = { email: `viewer-${process.pid}@example.test`, password: `pw-viewer-${Date.now()}` };
  const created = await fetch(`${stack.baseURL}/api/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...viewer, name: 'Viewer', role: 'viewer' }),
  });
  if (created.status !== 201)
    throw new Error(`creating the viewer: ${created.status} ${await created.text()}`);
  const context = await browser.newContext();
  await signInContext(context, stack.baseURL, viewer.email, viewer.password);
  return context;
}
