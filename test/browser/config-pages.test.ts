import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import { collectAxeViolations, screenshotEverywhere, signInContext, viewerContext } from './support/pages';

/**
 * The Connections and Supervisors pages in Chromium, against the real Worker in workerd and its
 * Postgres: an admin adds, changes and deletes a connection and a database supervisor through the
 * dialogs, and the API confirms each change (a password kept, replaced, cleared; never shown);
 * refusals show where they belong (a bad field next to it, a duplicate name's 409, a connection
 * in use); a viewer sees the lists without a single control; a phone gets cards, not a sideways
 * scroll. One stack and one browser for the file; the scenarios run in order and build on each other.
 */
let stack: DashboardStack;
let browser: TestBrowser;
const WAIT = { timeout: 45_000, interval: 250 };

const CONNECTION = `cfg-redis-${process.pid}`;
const RENAMED = `${CONNECTION}-eu`;
const PASSWORD = `pw-${Date.now()}-secret`;
const SUPERVISOR = `cfg-emails-${process.pid}`;
// A label no host of the stack has: the configuration is kept, no host starts it.
const LABEL = `cfg-only-${process.pid}`;

interface ConnectionView {
  id: string;
  name: string;
  kind: string;
  host: string | null;
  port: number | null;
  tls: boolean;
  keyPrefix: string | null;
  hasPassword: boolean;
  version: number;
}

interface SupervisorView {
  id: string;
  name: string;
  connection: string;
  queues: string[];
  minProcesses: number;
  maxProcesses: number;
  concurrency: number;
  balance: string;
  processors: Record<string, string>;
  labels: string[];
  version: number;
}

async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.baseURL}${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function connectionNamed(name: string): Promise<ConnectionView | undefined> {
  const list = await apiGet<{ connections: ConnectionView[] }>('/api/connections?limit=500');
  return list.connections.find((connection) => connection.name === name);
}

async function supervisorNamed(name: string): Promise<SupervisorView | undefined> {
  const list = await apiGet<{ configs: SupervisorView[] }>('/api/supervisors/configs?limit=500');
  return list.configs.find((config) => config.name === name);
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_config', { encryption: true });
  browser = await launchChromium(stack.baseURL);
}, 240_000);

afterAll(async () => {
  expect(pageErrors).toEqual([]);
  await browser?.close();
  await stack?.close();
}, 60_000);

async function adminPage(options: { phone?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext(options);
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

/** Uncaught errors in any page of the file: there must be none. */
const pageErrors: string[] = [];

async function dialogClosed(page: Page): Promise<void> {
  await expect.poll(() => page.locator('dialog[open]').count(), WAIT).toBe(0);
}

/** Whether a string is anywhere in the document: markup, text, or a form field's current value. */
function inDocument(page: Page, text: string): Promise<boolean> {
  return page.evaluate(`((needle) =>
    document.documentElement.outerHTML.includes(needle) ||
    document.body.textContent.includes(needle) ||
    [...document.querySelectorAll('input, textarea')].some((field) => field.value.includes(needle))
  )(${JSON.stringify(text)})`);
}

function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
}

describe('the Connections and Supervisors pages in Chromium', { timeout: 180_000 }, () => {
  it('lets an admin add a connection, change it (password kept, then cleared) and refuses a bad field and a duplicate name', async () => {
    const page = await adminPage();
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Connections' }).click();
    await page.waitForURL(/\/connections$/, WAIT);
    await page.getByRole('heading', { name: 'Connections' }).waitFor(WAIT);

    const add = page.getByRole('button', { name: 'Add connection' });
    await add.click();
    const dialog = page.getByRole('dialog', { name: 'Add a connection' });
    await dialog.waitFor(WAIT);
    await dialog.getByLabel('Name', { exact: true }).fill(CONNECTION);
    // A host the API would refuse: the form says so next to the field and sends nothing.
    await dialog.getByLabel('Host', { exact: true }).fill('redis internal');
    await dialog.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    await dialog.getByText('must be a host name or an IP address').waitFor(WAIT);
    expect(await dialog.getByLabel('Host', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await connectionNamed(CONNECTION)).toBeUndefined();

    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    await dialogClosed(page);
    await page.getByText(`Added ${CONNECTION}.`).waitFor(WAIT);
    const created = await connectionNamed(CONNECTION);
    expect(created).toMatchObject({
      kind: 'redis',
      host: '127.0.0.1',
      port: 6379,
      tls: false,
      hasPassword: true,
    });
    const row = page.locator(`tr[data-connection="${CONNECTION}"]`);
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('127.0.0.1:6379/0');
    // The password never comes back to the page.
    expect(await inDocument(page, PASSWORD)).toBe(false);

    // Change it: the password field left empty keeps the password.
    await row.getByRole('button', { name: `Edit ${CONNECTION}` }).click();
    const edit = page.getByRole('dialog', { name: `Change ${CONNECTION}` });
    await edit.waitFor(WAIT);
    expect(await edit.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    await edit.getByLabel('Name', { exact: true }).fill(RENAMED);
    await edit.getByLabel('Port', { exact: true }).fill('6380');
    await edit.getByLabel('Key prefix', { exact: true }).fill('jobs');
    await edit.getByLabel('Use TLS', { exact: true }).check();
    await edit.getByRole('button', { name: 'Save connection' }).click();
    await dialogClosed(page);
    await page.getByText(`Saved ${RENAMED}`).waitFor(WAIT);
    const changed = await connectionNamed(RENAMED);
    expect(changed).toMatchObject({
      id: created?.id,
      port: 6380,
      keyPrefix: 'jobs',
      tls: true,
      hasPassword: true,
      version: (created?.version ?? 0) + 1,
    });

    // Clear the password explicitly; then set the port back.
    const renamedRow = page.locator(`tr[data-connection="${RENAMED}"]`);
    await renamedRow.getByRole('button', { name: `Edit ${RENAMED}` }).click();
    const clear = page.getByRole('dialog', { name: `Change ${RENAMED}` });
    await clear.getByLabel('Clear the stored password', { exact: true }).check();
    expect(await clear.getByLabel('Password', { exact: true }).isDisabled()).toBe(true);
    await clear.getByLabel('Port', { exact: true }).fill('6379');
    await clear.getByRole('button', { name: 'Save connection' }).click();
    await dialogClosed(page);
    await expect.poll(async () => (await connectionNamed(RENAMED))?.hasPassword, WAIT).toBe(false);
    expect((await connectionNamed(RENAMED))?.port).toBe(6379);
    await expect.poll(async () => (await renamedRow.textContent()) ?? '', WAIT).toContain('none');

    // A second connection under the same name: the API's 409, in the dialog; nothing created.
    await add.click();
    const duplicate = page.getByRole('dialog', { name: 'Add a connection' });
    await duplicate.getByLabel('Name', { exact: true }).fill(RENAMED);
    await duplicate.getByLabel('Host', { exact: true }).fill('127.0.0.2');
    await duplicate.getByRole('button', { name: 'Add connection' }).click();
    await duplicate
      .getByRole('alert')
      .getByText(`A connection named ${RENAMED} already exists`)
      .waitFor(WAIT);
    await page.keyboard.press('Escape');
    await dialogClosed(page);
    const all = await apiGet<{ connections: ConnectionView[] }>('/api/connections?limit=500');
    expect(all.connections.filter((connection) => connection.name === RENAMED)).toHaveLength(1);
    await page.context().close();
  });

  it('lets an admin add a Redis Sentinel connection with its fields, and a Postgres one with its URL kept sealed', async () => {
    const page = await adminPage();
    await page.goto('/connections');
    await page.getByRole('button', { name: 'Add connection' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a connection' });
    await dialog.getByLabel('Kind', { exact: true }).selectOption('redis-sentinel');
    await dialog.getByLabel('Name', { exact: true }).fill(`${CONNECTION}-sentinel`);
    await dialog.getByLabel('Sentinels', { exact: true }).fill('10.0.0.1:26379\nsentinel-b:26380');
    await dialog.getByLabel('Primary name', { exact: true }).fill('mymaster');
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    await dialogClosed(page);
    expect(await connectionNamed(`${CONNECTION}-sentinel`)).toMatchObject({
      kind: 'redis-sentinel',
      nodes: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
      ],
      sentinelName: 'mymaster',
      hasPassword: false,
    });

    const url = `postgres://bullmq:pg-${Date.now()}@db.internal:5432/queues`;
    await page.getByRole('button', { name: 'Add connection' }).click();
    await dialog.getByLabel('Kind', { exact: true }).selectOption('postgres');
    await dialog.getByLabel('Name', { exact: true }).fill(`${CONNECTION}-pg`);
    await dialog.getByLabel('Postgres URL', { exact: true }).fill(url);
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    await dialogClosed(page);
    expect(await connectionNamed(`${CONNECTION}-pg`)).toMatchObject({ kind: 'postgres', hasUrl: true });
    await page.locator(`tr[data-connection="${CONNECTION}-pg"]`).waitFor(WAIT);
    expect(await inDocument(page, url)).toBe(false);
    await page.context().close();
  });

  it('lets an admin add, change and delete a database supervisor, with the bounds checked in the form', async () => {
    const page = await adminPage();
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Supervisors' }).click();
    await page.waitForURL(/\/supervisors$/, WAIT);
    await page.getByRole('button', { name: 'Add supervisor' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a supervisor' });
    await dialog.waitFor(WAIT);
    await dialog.getByLabel('Name', { exact: true }).fill(SUPERVISOR);
    await expect
      .poll(() => dialog.getByLabel('Connection', { exact: true }).locator('option').count(), WAIT)
      .toBeGreaterThan(1);
    await dialog.getByLabel('Connection', { exact: true }).selectOption(RENAMED);
    await dialog.getByLabel('Queue 1', { exact: true }).fill('emails');
    await dialog.getByLabel('Processor module 1', { exact: true }).fill('emails.mjs');
    await dialog.getByRole('button', { name: 'Add a queue' }).click();
    await dialog.getByLabel('Queue 2', { exact: true }).fill('reports');
    await dialog.getByLabel('Default processor module', { exact: true }).fill('default.mjs');
    await dialog.getByLabel('Minimum processes', { exact: true }).fill('2');
    // Out of bounds, and below minimum × queues: said next to each field, nothing sent.
    await dialog.getByLabel('Concurrency', { exact: true }).fill('0');
    await dialog.getByLabel('Maximum processes', { exact: true }).fill('3');
    await dialog.getByLabel('Host labels', { exact: true }).fill(`${LABEL}, gpu`);
    await dialog.getByRole('button', { name: 'Add supervisor' }).click();
    await dialog.getByText('must be at least 1', { exact: true }).waitFor(WAIT);
    await dialog.getByText('must be at least minimum × queues (2 × 2 = 4)').waitFor(WAIT);
    expect(await supervisorNamed(SUPERVISOR)).toBeUndefined();
    // A processor path out of the host's directory: refused in the form too.
    await dialog.getByLabel('Processor module 1', { exact: true }).fill('../../etc/evil.mjs');
    await dialog.getByLabel('Concurrency', { exact: true }).fill('4');
    await dialog.getByLabel('Maximum processes', { exact: true }).fill('6');
    await dialog.getByRole('button', { name: 'Add supervisor' }).click();
    await dialog.getByText('`..` is not allowed', { exact: false }).waitFor(WAIT);
    await dialog.getByLabel('Processor module 1', { exact: true }).fill('emails.mjs');
    await dialog.getByRole('button', { name: 'Add supervisor' }).click();
    await dialogClosed(page);
    await page.getByText(`Added ${SUPERVISOR}.`).waitFor(WAIT);
    const created = await supervisorNamed(SUPERVISOR);
    expect(created).toMatchObject({
      connection: RENAMED,
      queues: ['emails', 'reports'],
      minProcesses: 2,
      maxProcesses: 6,
      concurrency: 4,
      balance: 'simple',
      processors: { emails: 'emails.mjs', '*': 'default.mjs' },
      labels: ['gpu', LABEL].sort(),
    });
    const row = page.locator(`tr[data-supervisor="${SUPERVISOR}"]`);
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('2–6');

    // Change it: balance and a queue removed; only those go to the API.
    await row.getByRole('button', { name: `Edit ${SUPERVISOR}` }).click();
    const edit = page.getByRole('dialog', { name: `Change ${SUPERVISOR}` });
    await edit.waitFor(WAIT);
    expect(await edit.getByLabel('Queue 2', { exact: true }).inputValue()).toBe('reports');
    await edit.getByRole('button', { name: 'Remove queue 2 (reports)' }).click();
    await edit.getByLabel('Balance', { exact: true }).selectOption('auto');
    await edit.getByLabel('Maximum processes', { exact: true }).fill('8');
    await edit.getByRole('button', { name: 'Save supervisor' }).click();
    await dialogClosed(page);
    await expect
      .poll(async () => await supervisorNamed(SUPERVISOR), WAIT)
      .toMatchObject({
        queues: ['emails'],
        balance: 'auto',
        maxProcesses: 8,
        version: (created?.version ?? 0) + 1,
      });

    // The connection it uses cannot be deleted: the API's 409 shows in the dialog.
    await page.goto('/connections');
    const connectionRow = page.locator(`tr[data-connection="${RENAMED}"]`);
    await connectionRow.getByRole('button', { name: `Delete ${RENAMED}` }).click();
    const refuse = page.getByRole('dialog', { name: 'Delete this connection?' });
    await refuse.getByRole('button', { name: 'Delete' }).click();
    await refuse
      .getByRole('alert')
      .getByText(`Connection ${RENAMED} is in use by supervisor(s) ${SUPERVISOR}`, { exact: false })
      .waitFor(WAIT);
    await refuse.getByRole('button', { name: 'Cancel' }).click();
    await dialogClosed(page);
    expect(await connectionNamed(RENAMED)).toBeDefined();

    // Delete the supervisor, then the connection.
    await page.goto('/supervisors');
    await page
      .locator(`tr[data-supervisor="${SUPERVISOR}"]`)
      .getByRole('button', { name: `Delete ${SUPERVISOR}` })
      .click();
    const confirm = page.getByRole('dialog', { name: 'Delete this supervisor?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await dialogClosed(page);
    await page.getByText(`Deleted ${SUPERVISOR}.`).waitFor(WAIT);
    expect(await supervisorNamed(SUPERVISOR)).toBeUndefined();
    await page.goto('/connections');
    await page
      .locator(`tr[data-connection="${RENAMED}"]`)
      .getByRole('button', { name: `Delete ${RENAMED}` })
      .click();
    await page
      .getByRole('dialog', { name: 'Delete this connection?' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await dialogClosed(page);
    await page.getByText(`Deleted ${RENAMED}.`).waitFor(WAIT);
    expect(await connectionNamed(RENAMED)).toBeUndefined();
    await page.context().close();
  });

  it('shows a viewer the connections and supervisors without any control, and the API refuses their change', async () => {
    // Something on each list to look at.
    const made = await fetch(`${stack.baseURL}/api/supervisors/configs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `${SUPERVISOR}-seen`,
        connection: `${CONNECTION}-sentinel`,
        queues: ['seen'],
        processors: { '*': 'seen.mjs' },
        labels: [LABEL],
      }),
    });
    expect(made.status).toBe(201);
    const context = await viewerContext(browser, stack);
    const page = await context.newPage();
    for (const [path, ready] of [
      ['/connections', `${CONNECTION}-sentinel`],
      ['/supervisors', `${SUPERVISOR}-seen`],
    ] as const) {
      await page.goto(path);
      await page.getByText(ready, { exact: true }).first().waitFor(WAIT);
      expect(await page.locator('main button').count()).toBe(0);
    }
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link', { name: 'Connections' }).count()).toBe(1);
    const forced = await context.request.post('/api/connections', {
      headers: { origin: stack.baseURL },
      data: { kind: 'redis', name: `forced-${process.pid}`, host: '127.0.0.1' },
    });
    expect(forced.status()).toBe(403);
    await context.close();
  });

  it("keeps each connection's name on one line on a desktop, the ten columns inside their card", async () => {
    const page = await adminPage();
    await page.goto('/connections');
    await page.getByText(`${CONNECTION}-sentinel`, { exact: true }).waitFor(WAIT);
    // The lines each value's text lies on (a name broken at its hyphens lies on several).
    const lines = (await page.evaluate(`[...document.querySelectorAll(
      'td[data-label="Name"] .cell-main'
    )].map((value) => {
      const range = document.createRange();
      range.selectNodeContents(value);
      return [value.textContent.trim(), new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size];
    })`)) as Array<[string, number]>;
    expect(lines.map(([value]) => value)).toEqual(
      expect.arrayContaining([`${CONNECTION}-sentinel`, `${CONNECTION}-pg`]),
    );
    expect(lines.filter(([, count]) => count !== 1)).toEqual([]);
    // Neither the table's own box nor the page scrolls sideways: the table lies inside its card.
    expect(
      await page.evaluate(
        `(() => { const box = document.querySelector('.table-scroll'); const card = box.closest('.card').getBoundingClientRect(); const table = box.querySelector('table').getBoundingClientRect(); return [box.scrollWidth - box.clientWidth, Math.max(0, table.right - card.right)]; })()`,
      ),
    ).toEqual([0, 0]);
    expect(await sidewaysOverflow(page)).toBe(0);
    await page.context().close();
  });

  it('fits a phone: cards instead of a sideways scroll, the dialogs too', async () => {
    const page = await adminPage({ phone: true });
    for (const [path, ready, button, dialogName] of [
      ['/connections', `${CONNECTION}-sentinel`, 'Add connection', 'Add a connection'],
      ['/supervisors', `${SUPERVISOR}-seen`, 'Add supervisor', 'Add a supervisor'],
    ] as const) {
      await page.goto(path);
      await page.getByText(ready, { exact: true }).first().waitFor(WAIT);
      expect(await sidewaysOverflow(page)).toBe(0);
      // The table's own box does not scroll sideways either: its rows are cards.
      expect(
        await page.evaluate(
          `(() => { const box = document.querySelector('.table-scroll'); return box.scrollWidth - box.clientWidth; })()`,
        ),
      ).toBe(0);
      await page.getByRole('button', { name: button }).click();
      const dialog = page.getByRole('dialog', { name: dialogName });
      await dialog.waitFor(WAIT);
      // The dialog fits the screen, and nothing in it sticks out of it.
      expect(
        await page.evaluate(
          `(() => { const dialog = document.querySelector('dialog[open]'); const box = dialog.getBoundingClientRect(); const parts = [...dialog.querySelectorAll('*')].map((element) => element.getBoundingClientRect().right); return Math.max(box.right - window.innerWidth, ...parts.map((right) => right - box.right)); })()`,
        ),
      ).toBeLessThanOrEqual(0);
      await page.keyboard.press('Escape');
      await dialogClosed(page);
    }
    await page.context().close();
  });

  it('passes axe-core on both pages and their dialogs, and screenshots them', async () => {
    const violations: unknown[] = [];
    for (const [name, path, ready, dialog] of [
      ['connections', '/connections', `${CONNECTION}-sentinel`, null],
      ['supervisors', '/supervisors', `${SUPERVISOR}-seen`, null],
      ['connection-dialog', '/connections', `${CONNECTION}-sentinel`, `Edit ${CONNECTION}-sentinel`],
      ['supervisor-dialog', '/supervisors', `${SUPERVISOR}-seen`, `Edit ${SUPERVISOR}-seen`],
    ] as const) {
      const written = await screenshotEverywhere(
        browser,
        name,
        async (page, context) => {
          await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
          await page.goto(path);
          await page.getByText(ready, { exact: true }).first().waitFor(WAIT);
          if (dialog) {
            await page.getByRole('button', { name: dialog }).click();
            await page.locator('dialog[open] form').waitFor(WAIT);
            if (name === 'supervisor-dialog') {
              // Wait for the connections list, so the screenshot shows the dialog as used.
              await expect
                .poll(() => page.locator('#supervisor-connection option').count(), WAIT)
                .toBeGreaterThan(1);
            }
          }
        },
        async (page, where) => {
          await collectAxeViolations(violations, page, `${name} ${where}`);
        },
      );
      expect(written).toHaveLength(4);
    }
    expect(violations).toEqual([]);
  });
});
