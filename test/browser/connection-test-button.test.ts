import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../setup/test-env';
import { uniqueName } from '../worker-host/harness';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, freePort, startDashboardStack } from './support/dashboard-stack';
import { collectAxeViolations, screenshotEverywhere, signInContext } from './support/pages';

/**
 * "Test" on the Connections page and "Discover queues" in the supervisor form, carried out by a
 * real worker-host against the real Redis: the outcome shows inline (round trip, the server's
 * version as Redis itself reports it, its eviction policy and the warning that goes with anything
 * but noeviction), a server nobody listens on says why it failed, discovered queues can be ticked
 * into the form, and with no live host the API's refusal shows instead.
 */
let stack: DashboardStack;
let browser: TestBrowser;
let probeQueue: Queue;
const WAIT = { timeout: 60_000, interval: 250 };

const redis = new URL(testEnv.redisUrl);
const PREFIX = uniqueName('probe');
const QUEUE = uniqueName('found');
const LIVE = `probe-live-${process.pid}`;
const DEAD = `probe-dead-${process.pid}`;
const FRESH = `probe-fresh-${process.pid}`;

async function adminApi(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stack.baseURL}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
  });
}

/** What the Redis server itself says: its version and eviction policy. */
async function redisFacts(): Promise<{ version: string; policy: string }> {
  const client = new Redis(testEnv.redisUrl);
  try {
    const info = await client.info('server');
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? '';
    const policy = ((await client.config('GET', 'maxmemory-policy')) as string[])[1] ?? '';
    return { version, policy };
  } finally {
    client.disconnect();
  }
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_conntest', { encryption: true });
  browser = await launchChromium(stack.baseURL);
  // A queue under a key prefix of this file alone, so discovery finds it whatever else the shared
  // Redis holds.
  probeQueue = new Queue(QUEUE, { connection: { url: testEnv.redisUrl }, prefix: PREFIX });
  probeQueue.on('error', () => undefined);
  await probeQueue.add('probe', { n: 1 });
  const closedPort = await freePort();
  for (const [name, port] of [
    [LIVE, Number(redis.port || 6379)],
    [DEAD, closedPort],
    [FRESH, closedPort],
  ] as const) {
    const created = await adminApi('/api/connections', {
      method: 'POST',
      body: JSON.stringify({ kind: 'redis', name, host: redis.hostname, port, keyPrefix: PREFIX }),
    });
    expect(created.status).toBe(201);
  }
}, 240_000);

afterAll(async () => {
  await probeQueue?.obliterate({ force: true }).catch(() => undefined);
  await probeQueue?.close();
  await browser?.close();
  await stack?.close();
}, 60_000);

async function adminPage(): Promise<Page> {
  const context = await browser.newContext();
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  return context.newPage();
}

function testResult(page: Page, name: string) {
  return page.getByRole('status', { name: `Test of ${name}` });
}

/** The "Last test" cell of a connection's row (a labelled cell of the stacked table on phones). */
function lastTestCell(page: Page, name: string) {
  return page.locator(`tr[data-connection="${name}"] td[data-label="Last test"]`);
}

describe('Test and Discover queues, carried out by a live host', { timeout: 240_000 }, () => {
  it('shows what the host found on a live Redis: round trip, version, eviction policy', async () => {
    const facts = await redisFacts();
    const page = await adminPage();
    await page.goto('/connections');
    await page.getByRole('button', { name: `Test ${LIVE}` }).click();
    const result = testResult(page, LIVE);
    await result.getByText(/^Reachable/).waitFor(WAIT);
    const text = (await result.textContent()) ?? '';
    expect(text).toMatch(/Round trip\s*\d+(\.\d+)? ms/);
    expect(text).toContain(facts.version);
    expect(text).toContain(facts.policy);
    // The warning goes with any policy but noeviction, and only then.
    expect(text.includes('not noeviction')).toBe(facts.policy !== 'noeviction');
    await page.context().close();

    const violations: unknown[] = [];
    const shots = await screenshotEverywhere(
      browser,
      'connection-test',
      async (view, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await view.goto('/connections');
        await view.getByRole('button', { name: `Test ${LIVE}` }).click();
        await testResult(view, LIVE)
          .getByText(/^Reachable/)
          .waitFor(WAIT);
        await view.getByRole('button', { name: `Test ${DEAD}` }).click();
        await testResult(view, DEAD)
          .getByText(/^(Unreachable|Test failed): ./)
          .waitFor(WAIT);
        await lastTestCell(view, DEAD)
          .getByText(/^Failed: /)
          .waitFor(WAIT);
      },
      async (view, where) => {
        await collectAxeViolations(violations, view, `connection-test ${where}`);
      },
    );
    expect(shots).toHaveLength(4);
    expect(violations).toEqual([]);
  });

  it('keeps the last test of each connection: the table shows it after Test and after a reload', async () => {
    const page = await adminPage();
    await page.goto('/connections');
    const host = stack.host.hostId;
    // Never tested yet; its test fails (nothing listens on its port), and the row says so without a reload.
    const fresh = lastTestCell(page, FRESH);
    await fresh.getByText('never', { exact: true }).waitFor(WAIT);
    await page.getByRole('button', { name: `Test ${FRESH}` }).click();
    await fresh.getByText(/^Failed: connection refused by /).waitFor(WAIT);

    // Tested before (by the first test here): a new test replaces the time it shows.
    const live = lastTestCell(page, LIVE);
    await live.getByText(/^Reachable · /).waitFor(WAIT);
    const before = await live.locator('time').getAttribute('datetime');
    await page.getByRole('button', { name: `Test ${LIVE}` }).click();
    await expect.poll(() => live.locator('time').getAttribute('datetime'), WAIT).not.toBe(before);

    await page.reload();
    await live.getByText(/^Reachable/).waitFor(WAIT);
    const liveText = (await live.textContent()) ?? '';
    expect(liveText).toMatch(/^Reachable · \d+(\.\d)? ms/);
    expect(liveText.endsWith(` from ${host}`)).toBe(true);
    expect(await live.locator('time').count()).toBe(1);
    for (const cell of [fresh, lastTestCell(page, DEAD)]) {
      const text = (await cell.textContent()) ?? '';
      expect(text).toMatch(/^Failed: connection refused by \S+:\d+/);
      expect(text.endsWith(` from ${host}`)).toBe(true);
      expect(await cell.locator('time').count()).toBe(1);
    }
    await page.context().close();
  });

  it('says why a Redis nobody listens on cannot be reached', async () => {
    const page = await adminPage();
    await page.goto('/connections');
    await page.getByRole('button', { name: `Test ${DEAD}` }).click();
    const result = testResult(page, DEAD);
    // The host tried and says why: not the API's refusal ("Could not test").
    await result.getByText(/^(Unreachable|Test failed): ./).waitFor(WAIT);
    expect(await result.getByText(/^Reachable/).count()).toBe(0);
    await page.context().close();
  });

  it('discovers the queues of a connection and ticks one into a new supervisor', async () => {
    const page = await adminPage();
    await page.goto('/supervisors');
    await page.getByRole('button', { name: 'Add supervisor' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a supervisor' });
    await expect.poll(() => dialog.locator('#supervisor-connection option').count(), WAIT).toBeGreaterThan(1);
    await dialog.getByLabel('Connection', { exact: true }).selectOption(LIVE);
    await dialog.getByRole('button', { name: 'Discover queues' }).click();
    const found = dialog.getByRole('group', { name: 'Queues found' });
    await found.getByLabel(QUEUE, { exact: true }).check(WAIT);
    expect(await dialog.getByLabel('Queue 1', { exact: true }).inputValue()).toBe(QUEUE);
    await dialog.getByLabel('Name', { exact: true }).fill(`probe-supervisor-${process.pid}`);
    await dialog.getByLabel('Processor module 1', { exact: true }).fill('probe.mjs');
    await dialog.getByLabel('Host labels', { exact: true }).fill(`probe-only-${process.pid}`);
    await dialog.getByRole('button', { name: 'Add supervisor' }).click();
    await page.getByText(`Added probe-supervisor-${process.pid}.`).waitFor(WAIT);
    const list = (await (await adminApi('/api/supervisors/configs')).json()) as {
      configs: Array<{ name: string; queues: string[]; connection: string }>;
    };
    expect(list.configs.find((config) => config.name === `probe-supervisor-${process.pid}`)).toMatchObject({
      queues: [QUEUE],
      connection: LIVE,
    });
    await page.context().close();
  });

  it('lets the queue names be typed when discovery fails', async () => {
    const page = await adminPage();
    await page.goto('/supervisors');
    await page.getByRole('button', { name: 'Add supervisor' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a supervisor' });
    await expect.poll(() => dialog.locator('#supervisor-connection option').count(), WAIT).toBeGreaterThan(1);
    await dialog.getByLabel('Connection', { exact: true }).selectOption(DEAD);
    await dialog.getByRole('button', { name: 'Discover queues' }).click();
    await dialog.getByText('Could not discover queues', { exact: false }).waitFor(WAIT);
    await dialog.getByText('Type the queue names below instead.', { exact: false }).waitFor(WAIT);
    await dialog.getByLabel('Queue 1', { exact: true }).fill('typed-queue');
    expect(await dialog.getByLabel('Queue 1', { exact: true }).inputValue()).toBe('typed-queue');
    await page.context().close();
  });

  it("shows the API's refusal when no host is live", async () => {
    await stack.host.stop(30_000);
    const page = await adminPage();
    await page.goto('/connections');
    // The API answers 409 once it no longer counts the stopped host as live.
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: `Test ${LIVE}` }).click();
        const result = testResult(page, LIVE);
        await result.getByText(/^(Reachable|Unreachable|Test failed|Could not test)/).waitFor(WAIT);
        return (await result.textContent()) ?? '';
      }, WAIT)
      .toMatch(/^Could not test: /);
    await page.context().close();
  });
});
