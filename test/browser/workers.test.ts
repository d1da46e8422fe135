import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import {
  type AxeViolation,
  collectAxeViolations,
  SCREENSHOTS,
  screenshotEverywhere,
  seriousAxeViolations,
  signInContext,
  viewerContext,
} from './support/pages';

/**
 * The Workers page in Chromium, over the real worker-host of the stack (its worker processes run
 * BullMQ on the real Redis): its controls go through the API and the command bus to the host, and
 * the page shows a request pending until the host answers. One stack and one browser for the file.
 */
let stack: DashboardStack;
let browser: TestBrowser;
let supervisorName: string;
const WAIT = { timeout: 45_000, interval: 250 };

interface ListedWorker {
  workerId: string;
  supervisor: string;
  status: string;
  pid: number | null;
  inLastHeartbeat: boolean;
}

async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.baseURL}${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The host's worker processes its latest heartbeat listed, not stopped. */
async function liveWorkers(): Promise<ListedWorker[]> {
  const { workers } = await apiGet<{ workers: ListedWorker[] }>(`/api/workers?host=${stack.host.hostId}`);
  return workers.filter((worker) => worker.inLastHeartbeat && worker.status !== 'stopped');
}

async function commandStatus(id: string): Promise<string> {
  return (await apiGet<{ command: { status: string } }>(`/api/commands/${id}`)).command.status;
}

/** Waits for the host to run exactly one worker process, running (the state each test starts from). */
async function onlyRunningWorker(): Promise<ListedWorker> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const workers = await liveWorkers();
    const [only] = workers;
    if (workers.length === 1 && only?.status === 'running') return only;
    if (Date.now() > deadline)
      throw new Error(`expected one running worker, have ${JSON.stringify(workers)}`);
    await new Promise((resolve) => setTimeout(resolve, WAIT.interval));
  }
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_workers', { labels: ['browser', 'eu'] });
  browser = await launchChromium(stack.baseURL);
  const { supervisors } = await apiGet<{ supervisors: Array<{ name: string }> }>('/api/supervisors');
  supervisorName = supervisors[0]?.name ?? '';
  await onlyRunningWorker();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

/** What went wrong in a page: uncaught errors, console errors, failed or refused requests. */
const pageTrouble = new WeakMap<Page, string[]>();
function watchPage(page: Page): Page {
  const trouble: string[] = [];
  pageTrouble.set(page, trouble);
  page.on('pageerror', (error) => trouble.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') trouble.push(`console: ${message.text()}`);
  });
  page.on('requestfailed', (request) =>
    trouble.push(`failed: ${request.url()} ${request.failure()?.errorText}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) trouble.push(`${response.status()}: ${response.url()}`);
  });
  return page;
}

/** Waits for a worker's row to show `state`; if it never does, says what the page showed instead. */
async function waitForRowState(page: Page, workerId: string, state: string): Promise<void> {
  try {
    await expect.poll(() => shownState(page.locator(`tr[data-worker-id="${workerId}"]`)), WAIT).toBe(state);
  } catch (error) {
    const shown = await page.evaluate('document.body.innerHTML.slice(0, 3000)').catch(() => '(no body)');
    const trouble = (pageTrouble.get(page) ?? []).join('\n');
    throw new Error(
      `worker ${workerId} was not shown ${state} at ${page.url()}; trouble:\n${trouble}\npage:\n${shown}`,
      {
        cause: error,
      },
    );
  }
}

async function signedInPage(options: { phone?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext(options);
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  return watchPage(await context.newPage());
}

/** What a row shows as its state: the pending request's label, or the status the host confirmed. */
function shownState(row: Locator): Promise<string | null> {
  return row
    .locator('td .status')
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

/**
 * Sends one worker command from the page while the host is held still (SIGSTOP, a fault on
 * purpose), so the request is seen pending for as long as the test looks; then lets the host go
 * and checks the new state is shown only once the command is done.
 */
async function controlWorker(
  page: Page,
  workerId: string,
  button: RegExp,
  pending: string,
  confirmed: string,
) {
  const row = page.locator(`tr[data-worker-id="${workerId}"]`);
  const sent = page.waitForResponse(
    (response) =>
      response.request().method() === 'POST' && response.url().includes(`/api/workers/${workerId}/`),
  );
  const before = await row.getAttribute('data-status');
  process.kill(stack.host.pid, 'SIGSTOP');
  let commandId: string;
  try {
    await row.getByRole('button', { name: button }).click();
    commandId = ((await (await sent).json()) as { command: { id: string } }).command.id;
    await expect.poll(() => shownState(row), WAIT).toBe(`${pending}… pending`);
    expect(await commandStatus(commandId)).toBe('pending');
    await page.screenshot({
      path: join(SCREENSHOTS, `workers-${pending}-light-desktop.png`),
      fullPage: true,
    });
    // The host has confirmed nothing: the row's confirmed status is unchanged, and a fresh load of
    // the page (another operator) shows the request pending too, from the list itself.
    expect(await row.getAttribute('data-status')).toBe(before);
    const other = await page.context().newPage();
    await other.goto(`/workers?host=${stack.host.hostId}`);
    await expect
      .poll(() => shownState(other.locator(`tr[data-worker-id="${workerId}"]`)), WAIT)
      .toBe(`${pending}… pending`);
    await other.close();
    expect(await commandStatus(commandId)).toBe('pending');
  } finally {
    process.kill(stack.host.pid, 'SIGCONT');
  }
  await expect.poll(() => shownState(row), WAIT).toBe(confirmed);
  // Shown only once the host answered: by now the command is done, and the row says so.
  expect(await commandStatus(commandId)).toBe('done');
  expect(await row.getAttribute('data-status')).toBe(confirmed);
  expect(await row.getByRole('status').textContent()).toBe('Done: the host confirmed it.');
}

// Each step may wait up to WAIT on two loaded cores; a scenario has several.
describe('the Workers page in Chromium', { timeout: 180_000 }, () => {
  it('pauses a worker process: pending until the host confirms, then paused; resumed the same way', async () => {
    const worker = await onlyRunningWorker();
    const page = await signedInPage();
    await page.goto('/workers');
    const host = page.locator(`[data-host-id="${stack.host.hostId}"]`);
    await host.getByRole('heading', { level: 2, name: /running/ }).waitFor(WAIT);
    await waitForRowState(page, worker.workerId, 'running');

    await controlWorker(page, worker.workerId, /^Pause worker/, 'pausing', 'paused');
    expect((await liveWorkers()).map((listed) => listed.status)).toEqual(['paused']);
    await controlWorker(page, worker.workerId, /^Resume worker/, 'resuming', 'running');
    expect((await liveWorkers()).map((listed) => listed.status)).toEqual(['running']);
    await page.context().close();
  });

  it('scales the supervisor to 2 processes and back to 1: the processes appear, then one goes', async () => {
    await onlyRunningWorker();
    const page = await signedInPage();
    const scaleRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/scale')) scaleRequests.push(request.url());
    });
    await page.goto(`/workers?host=${stack.host.hostId}`);
    const panel = page.locator(`[data-supervisor="${supervisorName}"]`);
    const rows = panel.locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(1);

    // Refused on the page, before any request: not a whole number, out of bounds.
    for (const bad of ['-1', '1.5', '1001', '']) {
      await panel.getByRole('spinbutton', { name: 'Processes' }).fill(bad);
      await panel.getByRole('button', { name: 'Scale' }).click();
      await panel.getByRole('alert').waitFor(WAIT);
      expect(await panel.getByRole('spinbutton', { name: 'Processes' }).getAttribute('aria-invalid')).toBe(
        'true',
      );
    }
    expect(scaleRequests).toEqual([]);

    await panel.getByRole('spinbutton', { name: 'Processes' }).fill('2');
    await panel.getByRole('button', { name: 'Scale' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    await expect.poll(async () => (await liveWorkers()).length, WAIT).toBe(2);
    await expect.poll(() => panel.locator('[data-processes]').getAttribute('data-processes'), WAIT).toBe('2');

    await expect
      .poll(() => panel.getByRole('spinbutton', { name: 'Processes' }).inputValue(), WAIT)
      .toBe('2');
    await panel.getByRole('spinbutton', { name: 'Processes' }).fill('1');
    await panel.getByRole('button', { name: 'Scale' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    await expect.poll(async () => (await liveWorkers()).length, WAIT).toBe(1);
    expect(scaleRequests).toHaveLength(2);
    // The removed process is no longer shown, and the page says one is hidden.
    await expect.poll(() => page.locator('[data-hidden-workers]').count(), WAIT).toBe(1);
    await page.context().close();
  });

  it('asks before restarting or terminating a host, in a modal dialog that keeps focus and closes on Escape', async () => {
    const before = await onlyRunningWorker();
    const page = await signedInPage();
    const hostRequests: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/api/hosts/'))
        hostRequests.push(request.url());
    });
    await page.goto('/workers');
    const host = page.locator(`[data-host-id="${stack.host.hostId}"]`);
    await host.getByRole('button', { name: /^Terminate host/ }).click();
    const dialog = page.getByRole('dialog', { name: /^Terminate / });
    await dialog.waitFor(WAIT);
    // The page behind is inert and Tab wraps inside the dialog: focus never leaves it.
    const focusKept = () => page.evaluate(`document.activeElement?.closest('dialog[open]') !== null`);
    expect(await focusKept()).toBe(true);
    for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
      await page.keyboard.press(key);
      expect(await focusKept(), key).toBe(true);
    }
    const axeWithDialog = await seriousAxeViolations(page);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    expect(hostRequests).toEqual([]);
    expect(axeWithDialog).toEqual([]);

    // Restart, confirmed: the host restarts its worker processes and says it did.
    await host.getByRole('button', { name: /^Restart host/ }).click();
    await page
      .getByRole('dialog', { name: /^Restart every worker process/ })
      .getByRole('button', { name: 'Restart' })
      .click();
    await host
      .locator(':scope > [role="status"]')
      .filter({ hasText: 'Done: the host confirmed it.' })
      .waitFor(WAIT);
    expect(hostRequests).toHaveLength(1);
    expect(hostRequests[0]).toContain(`/api/hosts/${stack.host.hostId}/restart`);
    await expect
      .poll(
        async () => (await liveWorkers()).find((worker) => worker.workerId === before.workerId)?.pid,
        WAIT,
      )
      .not.toBe(before.pid);
    await page.context().close();
  });

  it("links a worker's current job to its page, and highlights the worker a link names", async () => {
    const worker = await onlyRunningWorker();
    const job = await stack.queue.add('long-report', { ms: 20_000 });
    const page = await signedInPage();
    await page.goto(`/workers?host=${stack.host.hostId}&worker=${worker.workerId}`);
    const row = page.locator(`tr[data-worker-id="${worker.workerId}"]`);
    await expect.poll(() => row.getAttribute('aria-current'), WAIT).toBe('true');
    const link = row.getByRole('link', { name: `#${job.id}` });
    await link.waitFor(WAIT);
    await link.click();
    await page.getByRole('heading', { name: /long-report/ }).waitFor(WAIT);
    expect(new URL(page.url()).pathname).toMatch(/^\/jobs\/\d+$/);
    await page.context().close();
  });

  it('shows a viewer no action buttons, and the API refuses the same actions with 403', async () => {
    const worker = await onlyRunningWorker();
    const context = await viewerContext(browser, stack);
    const page = await context.newPage();
    await page.goto('/workers');
    await waitForRowState(page, worker.workerId, 'running');
    expect(await page.locator('main button').count()).toBe(0);
    expect(await page.locator('main input, main select').count()).toBe(0);
    expect(await page.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0);
    const headers = { origin: stack.baseURL };
    for (const path of [
      `/api/workers/${worker.workerId}/pause`,
      `/api/hosts/${stack.host.hostId}/terminate`,
      `/api/supervisors/${supervisorName}/pause`,
    ]) {
      expect((await context.request.post(path, { headers })).status(), path).toBe(403);
    }
    const scale = await context.request.post(`/api/supervisors/${supervisorName}/scale`, {
      headers,
      data: { processes: 3 },
    });
    expect(scale.status()).toBe(403);
    expect((await liveWorkers()).map((listed) => listed.status)).toEqual(['running']);
    await context.close();
  });

  it("shows the host's labels and configuration version, and warns while it cannot apply a database supervisor", async () => {
    const send = async (method: string, path: string, json: unknown) => {
      const response = await fetch(`${stack.baseURL}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(json),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as { id: string; name: string };
    };
    const connection = await send('POST', '/api/connections', {
      kind: 'redis',
      name: 'browser-redis',
      host: '127.0.0.1',
      port: 6379,
    });
    // Its processor is not in the host's (empty) processors directory: the host refuses it and
    // reports why, which is drift until the configuration changes.
    const config = await send('POST', '/api/supervisors/configs', {
      name: 'browser-drift',
      connection: connection.name,
      queues: ['browser-drift-q'],
      processors: { '*': 'missing.mjs' },
      labels: ['browser'],
    });
    const page = await signedInPage();
    await page.goto(`/workers?host=${stack.host.hostId}`);
    const host = page.locator(`[data-host-id="${stack.host.hostId}"]`);
    const fact = (name: string) => host.locator('.host-facts div').filter({ hasText: name }).locator('dd');
    await expect.poll(() => fact('Labels').textContent(), WAIT).toBe('browser, eu');
    const warning = host.locator('.host-drift');
    await expect
      .poll(() => warning.textContent().catch(() => null), WAIT)
      .toMatch(
        /^Configuration drift: the host could not apply the database configuration: supervisor browser-drift not started: .*missing\.mjs/,
      );
    const { hosts } = await apiGet<{ hosts: Array<{ hostId: string; configVersion: number | null }> }>(
      '/api/hosts',
    );
    const version = hosts.find((listed) => listed.hostId === stack.host.hostId)?.configVersion;
    expect(version).toBeGreaterThan(0);
    expect(await fact('Configuration').textContent()).toBe(`version ${version}`);
    expect(await warning.getAttribute('role')).toBe('status');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'workers-drift-light-desktop.png'), fullPage: true });

    // Selecting hosts this one is not: nothing refused, the version moves on, the warning goes.
    await send('PATCH', `/api/supervisors/configs/${config.id}`, { labels: ['elsewhere'] });
    await expect.poll(() => warning.count(), WAIT).toBe(0);
    await expect.poll(() => fact('Configuration').textContent(), WAIT).not.toBe(`version ${version}`);
    await page.context().close();
  });

  it('passes axe-core light and dark, desktop and phone, and screenshots the page', async () => {
    const worker = await onlyRunningWorker();
    const violations: Array<AxeViolation & { where: string }> = [];
    const written = await screenshotEverywhere(
      browser,
      'workers',
      async (page, context) => {
        watchPage(page);
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto(`/workers?host=${stack.host.hostId}&worker=${worker.workerId}`);
        await waitForRowState(page, worker.workerId, 'running');
        // The page never scrolls sideways (only the table does, inside its own region).
        expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBe(0);
      },
      async (page, where) => {
        await collectAxeViolations(violations, page, where);
      },
    );
    expect(written).toHaveLength(4);
    expect(violations).toEqual([]);
  });
});
