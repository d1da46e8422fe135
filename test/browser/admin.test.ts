import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/chromium';
import { type DashboardStack, startDashboardStack } from './support/dashboard-stack';
import { collectAxeViolations, screenshotEverywhere, signInContext } from './support/pages';

/**
 * The Audit log and Settings (users, API tokens) pages in Chromium, against the real Worker in
 * workerd: an admin manages users and tokens from the pages, and the API confirms each change took
 * effect (a disabled user cannot sign in, a revoked token is refused); the audit log shows it all,
 * hostile recorded strings included; a viewer is kept out of Settings, by the page and by the API.
 * One stack and one browser for the file; the scenarios run in order and build on each other.
 */
let stack: DashboardStack;
let browser: TestBrowser;
const WAIT = { timeout: 45_000, interval: 250 };

const ATTACKER = 'http://attacker.test';
const LONG_WORD = 'W'.repeat(2000);
const HOSTILE_AGENT = `<img src="${ATTACKER}/ua.png" onerror="alert(1)"> ${'U'.repeat(600)}`;
const NEW_USER = {
  email: `new-operator-${process.pid}@example.test`,
  name: 'Grace <b>Hopper</b>',
  password: `pw-new-user-${Date.now()}`,
};
const INTRUDER = `intruder-${process.pid}@example.test`;
const VIEWER = { email: `viewer-${process.pid}@example.test`, password: `pw-viewer-${Date.now()}` };

async function apiFetch(path: string, init: RequestInit & { bearer?: string } = {}): Promise<Response> {
  const { bearer, ...rest } = init;
  return fetch(`${stack.baseURL}${path}`, {
    ...rest,
    headers: {
      origin: stack.baseURL,
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(rest.headers as Record<string, string> | undefined),
    },
  });
}

async function login(email: string, password: string): Promise<number> {
  const response = await apiFetch('/api/auth/login', {
    method: 'POST',
    body: JSON.stringify({ email, password }),
  });
  await response.body?.cancel();
  return response.status;
}

beforeAll(async () => {
  stack = await startDashboardStack('browser_admin');
  browser = await launchChromium(stack.baseURL);
  const viewer = await apiFetch('/api/users', {
    method: 'POST',
    bearer: stack.adminToken,
    body: JSON.stringify({ ...VIEWER, name: 'Viewer', role: 'viewer' }),
  });
  expect(viewer.status).toBe(201);
  // Recorded strings are input too: a failed sign-in with a hostile user agent and email, and an
  // entry holding a 2,000-character word and markup everywhere a string is kept.
  expect(
    (
      await apiFetch('/api/auth/login', {
        method: 'POST',
        headers: { 'user-agent': HOSTILE_AGENT },
        body: JSON.stringify({ email: INTRUDER, password: 'wrong-password' }),
      })
    ).status,
  ).toBeGreaterThanOrEqual(400);
  await stack.sql(
    `insert into watchtower_audit_log
       (actor_kind, actor_id, actor_name, action, target_type, target_id, result, details, ip, user_agent)
     values ('token', $1, $2, 'tokens.create', 'token', $3, 'ok', $4, '203.0.113.9', $5)`,
    [
      LONG_WORD,
      `<script>window.__xss = 1</script>${LONG_WORD}`,
      `<img src="${ATTACKER}/t.png" onerror="alert(2)">${LONG_WORD}`,
      JSON.stringify({ note: `<a href="javascript:alert(3)">x</a> ${LONG_WORD}`, word: LONG_WORD }),
      `javascript:alert(4) ${LONG_WORD}`,
    ],
  );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

async function adminPage(options: { phone?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext(options);
  await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
  return context.newPage();
}

/** The element that has focus, described well enough to tell where it is. */
function focused(page: Page): Promise<{ inDialog: boolean; label: string }> {
  return page.evaluate(`(() => {
    const element = document.activeElement;
    return {
      inDialog: Boolean(element && element.closest('dialog[open]')),
      label: (element && (element.getAttribute('aria-label') || element.textContent || '').trim()) || '',
    };
  })()`);
}

/** Waits until no dialog is open (the element itself, not its name, which goes with its content). */
async function dialogClosed(page: Page): Promise<void> {
  await expect.poll(() => page.locator('dialog[open]').count(), WAIT).toBe(0);
}

/** Whether a string is anywhere in the document: markup, text, or a form field's current value. */
function inDocument(page: Page, text: string): Promise<boolean> {
  // A string, not a function: the root tsconfig has no DOM types.
  return page.evaluate(`((needle) =>
    document.documentElement.outerHTML.includes(needle) ||
    document.body.textContent.includes(needle) ||
    [...document.querySelectorAll('input, textarea')].some((field) => field.value.includes(needle))
  )(${JSON.stringify(text)})`);
}

function row(page: Page, attribute: string, value: string) {
  return page.locator(`tr[${attribute}="${value}"]`);
}

describe('the Audit and Settings pages in Chromium', { timeout: 180_000 }, () => {
  it('lets an admin create a user, change its role and disable it; the API then refuses its sign-in', async () => {
    const page = await adminPage();
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/settings$/, WAIT);
    await page.getByRole('heading', { name: 'Users' }).waitFor(WAIT);

    // The dialog keeps focus, Escape closes it, and focus goes back to the button that opened it.
    const create = page.getByRole('button', { name: 'Create user' });
    await create.click();
    const dialog = page.getByRole('dialog', { name: 'Create a user' });
    await dialog.waitFor(WAIT);
    expect((await focused(page)).inDialog).toBe(true);
    for (let step = 0; step < 8; step++) {
      await page.keyboard.press('Tab');
      expect((await focused(page)).inDialog).toBe(true);
    }
    await page.keyboard.press('Escape');
    await dialogClosed(page);
    expect(await focused(page)).toEqual({ inDialog: false, label: 'Create user' });

    // The API's refusal shows in the dialog; then the user is created.
    await create.click();
    await dialog.getByLabel('Email').fill(stack.admin.email);
    await dialog.getByLabel('Name').fill(NEW_USER.name);
    await dialog.getByLabel('Role').selectOption('operator');
    await dialog.getByLabel('Password').fill(NEW_USER.password);
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: /exists|already/i })
      .waitFor(WAIT);
    await dialog.getByLabel('Email').fill(NEW_USER.email);
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await dialogClosed(page);
    const created = row(page, 'data-user-email', NEW_USER.email);
    await created.waitFor(WAIT);
    expect(await created.textContent()).toContain(NEW_USER.name);
    expect(await created.locator('td').nth(1).textContent()).toBe('operator');
    expect(await login(NEW_USER.email, NEW_USER.password)).toBe(200);

    await page.getByRole('button', { name: `Change role of ${NEW_USER.email}` }).click();
    const roleDialog = page.getByRole('dialog', { name: 'Change the role' });
    // It opens on the current role, so saving it unchanged demotes nobody.
    expect(await roleDialog.getByLabel('Role').inputValue()).toBe('operator');
    await roleDialog.getByLabel('Role').selectOption('viewer');
    await roleDialog.getByRole('button', { name: 'Save role' }).click();
    await dialogClosed(page);
    await expect.poll(() => created.locator('td').nth(1).textContent(), WAIT).toBe('viewer');
    const asAdmin = await apiFetch('/api/users?limit=500', { bearer: stack.adminToken });
    const listed = (await asAdmin.json()) as { users: Array<{ email: string; role: string }> };
    expect(listed.users.find((user) => user.email === NEW_USER.email)?.role).toBe('viewer');

    // Disabling asks first; cancelling changes nothing.
    await page.getByRole('button', { name: `Disable ${NEW_USER.email}` }).click();
    const disableDialog = page.getByRole('dialog', { name: 'Disable this user?' });
    await disableDialog.getByRole('button', { name: 'Cancel' }).click();
    await dialogClosed(page);
    expect(await created.locator('.status').textContent()).toBe('active');
    await page.getByRole('button', { name: `Disable ${NEW_USER.email}` }).click();
    await disableDialog.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => created.locator('.status').textContent(), WAIT).toBe('disabled');
    expect(await login(NEW_USER.email, NEW_USER.password)).toBe(401);
    // The admin's own row has no buttons to lock themselves out with.
    expect(await row(page, 'data-user-email', stack.admin.email).getByRole('button').count()).toBe(0);
    await page.context().close();
  });

  it('creates a token whose secret is shown once and works, then revokes it', async () => {
    const page = await adminPage();
    await page.goto('/settings/tokens');
    await page.getByRole('heading', { name: 'API tokens' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: /token/i });
    await dialog.getByLabel('Name').fill('ci pipeline');
    await dialog.getByLabel('Role').selectOption('viewer');
    expect(await dialog.getByLabel('Expires after').inputValue()).toBe('30');
    await dialog.getByLabel('Expires after').selectOption('30');
    await dialog.getByRole('button', { name: 'Create token' }).click();
    await dialog.getByText('You will not see this token again.').waitFor(WAIT);
    const secret = await dialog.getByLabel(/Token for/).inputValue();
    expect(secret.length).toBeGreaterThan(20);
    expect(await inDocument(page, secret)).toBe(true);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await dialog.getByRole('button', { name: 'Copy the token' }).click();
    await dialog.getByText('Copied').waitFor(WAIT);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);

    const jobs = await apiFetch('/api/jobs', { bearer: secret });
    expect(jobs.status).toBe(200);
    await jobs.body?.cancel();

    await dialog.getByRole('button', { name: /Done/ }).click();
    await dialogClosed(page);
    expect(await focused(page)).toEqual({ inDialog: false, label: 'Create token' });
    // Gone from the document (and from the dialog's state, which closing unmounted).
    expect(await inDocument(page, secret)).toBe(false);
    const token = row(page, 'data-token-name', 'ci pipeline');
    await token.waitFor(WAIT);
    expect(await token.locator('td').nth(1).textContent()).toBe('viewer');
    expect(await token.locator('td').nth(3).textContent()).toBe(stack.admin.email);
    expect(await token.locator('td').nth(5).textContent()).toMatch(/^in (29|30) d$/);
    // Its use just now shows, at the latest on the next poll.
    await expect.poll(() => token.locator('td').nth(6).textContent(), WAIT).not.toBe('never');

    await page.getByRole('button', { name: 'Revoke ci pipeline' }).click();
    const revoke = page.getByRole('dialog', { name: 'Revoke this token?' });
    await revoke.getByRole('button', { name: 'Revoke' }).click();
    await dialogClosed(page);
    await token.waitFor({ ...WAIT, state: 'detached' });
    const refused = await apiFetch('/api/jobs', { bearer: secret });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();

    await page.getByLabel('Show revoked tokens').check();
    await page.waitForURL(/includeRevoked=true/, WAIT);
    await expect.poll(() => token.locator('.status').textContent(), WAIT).toBe('revoked');
    expect(await inDocument(page, secret)).toBe(false);
    await page.context().close();
  });

  it('shows those changes in the audit log, filters by action in the URL, and keeps it on reload', async () => {
    const page = await adminPage();
    await page.goto('/audit');
    const actions = () => page.locator('tbody tr td:nth-child(3)').allTextContents();
    await expect
      .poll(actions, WAIT)
      .toEqual(expect.arrayContaining(['users.create', 'users.update', 'tokens.create', 'tokens.revoke']));

    await page.getByLabel('Action').fill('users.update');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/[?&]action=users\.update/, WAIT);
    // The role change and the disabling, and nothing else.
    await expect.poll(actions, WAIT).toEqual(['users.update', 'users.update']);
    const details = await page.locator('tbody tr td:nth-child(6) .audit-clamp').allTextContents();
    expect(details.join(' ')).toContain('"disabled":true');
    expect(details.join(' ')).toContain('"to":"viewer"');

    await page.reload();
    await expect.poll(actions, WAIT).toEqual(['users.update', 'users.update']);
    expect(await page.getByLabel('Action').inputValue()).toBe('users.update');

    // A target in the table narrows to its entries, keeping the action.
    await page.locator('tbody tr').first().getByRole('link', { name: 'user', exact: true }).click();
    await page.waitForURL(/targetType=user&targetId=[0-9a-f-]{36}/, WAIT);
    expect(page.url()).toContain('action=users.update');
    await expect.poll(actions, WAIT).toEqual(['users.update', 'users.update']);

    // Every filter comes back from the URL into its control, selects included.
    await page.goto('/audit?actorKind=anonymous&result=error');
    await expect.poll(actions, WAIT).toContain('auth.login');
    expect(await page.getByLabel('Actor kind').inputValue()).toBe('anonymous');
    expect(await page.getByLabel('Result').inputValue()).toBe('error');
    expect(new Set(await page.locator('tbody .status').allTextContents())).toEqual(new Set(['error']));

    // By the name people know an actor by: the admin created one user (the bootstrap token the other).
    await page.goto('/audit');
    await page.getByLabel('Actor', { exact: true }).fill(stack.admin.email);
    await page.getByLabel('Action').fill('users.create');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/[?&]actor=browser-admin%40example\.test/, WAIT);
    await expect.poll(actions, WAIT).toEqual(['users.create']);
    expect(await page.locator('tbody tr td:nth-child(6)').textContent()).toContain(NEW_USER.email);
    await page.context().close();
  });

  it('shows recorded strings as text: nothing runs, nothing is fetched, the layout holds', async () => {
    for (const phone of [false, true]) {
      const page = await adminPage({ phone });
      const dialogs: string[] = [];
      const attackerRequests: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('request', (request) => {
        if (request.url().startsWith(ATTACKER)) attackerRequests.push(request.url());
      });
      await page.goto('/audit');
      await page.getByText('<script>window.__xss = 1</script>', { exact: false }).first().waitFor(WAIT);
      // Open every "More", so user agents and whole details are laid out too.
      for (const more of await page.locator('summary', { hasText: 'More' }).all()) await more.click();
      await page.getByText(HOSTILE_AGENT.slice(0, 40), { exact: false }).first().waitFor(WAIT);
      const state = await page.evaluate(`({
        xss: window.__xss,
        images: document.querySelectorAll('img').length,
        scripts: [...document.scripts].filter((script) => !script.src).length,
        javascriptLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        tallestRow: Math.max(...[...document.querySelectorAll('tbody tr')].map((row) => row.getBoundingClientRect().height)),
      })`);
      const { tallestRow, ...rest } = state as { tallestRow: number };
      expect(rest).toEqual({ xss: undefined, images: 0, scripts: 0, javascriptLinks: 0, overflow: 0 });
      // The 2,000-character words are cut to a few lines in the row; the whole is in a scrolling box.
      expect(tallestRow).toBeLessThan(900);
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).toContain(LONG_WORD);
      expect(text).toContain(INTRUDER);
      expect(dialogs).toEqual([]);
      expect(attackerRequests).toEqual([]);
      await page.context().close();
    }
  });

  it('shows a viewer no Settings, says admins only at /settings, and the API refuses with 403', async () => {
    const context = await browser.newContext();
    await signInContext(context, stack.baseURL, VIEWER.email, VIEWER.password);
    const page = await context.newPage();
    await page.goto('/audit');
    const nav = page.getByRole('navigation', { name: 'Pages' });
    await nav.getByRole('link', { name: 'Audit' }).waitFor(WAIT);
    expect(await nav.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    for (const path of ['/settings', '/settings/users', '/settings/tokens']) {
      await page.goto(path);
      await page.getByText('Settings are for admins only.').waitFor(WAIT);
      expect(await page.getByRole('button', { name: /Create/ }).count()).toBe(0);
    }
    const forced = await context.request.post('/api/users', {
      headers: { origin: stack.baseURL },
      data: { email: `forced-${process.pid}@example.test`, role: 'admin', password: 'pw-forced-123456' },
    });
    expect(forced.status()).toBe(403);
    await context.close();
  });

  it('passes axe-core on the Audit and Settings pages, and screenshots them', async () => {
    const violations: unknown[] = [];
    for (const [name, path, ready] of [
      ['audit', '/audit', 'users.update'],
      ['settings-users', '/settings/users', NEW_USER.email],
      ['settings-tokens', '/settings/tokens?includeRevoked=true', 'ci pipeline'],
    ] as const) {
      const written = await screenshotEverywhere(
        browser,
        name,
        async (page, context) => {
          await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
          await page.goto(path);
          await page.getByText(ready).first().waitFor(WAIT);
        },
        async (page, where) => {
          await collectAxeViolations(violations, page, `${name} ${where}`);
        },
      );
      expect(written).toHaveLength(4);
    }
    // The secret shown once, in its dialog.
    let made = 0;
    const shots = await screenshotEverywhere(
      browser,
      'settings-token-created',
      async (page, context) => {
        await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
        await page.goto('/settings/tokens');
        await page.getByRole('button', { name: 'Create token' }).click();
        const dialog = page.getByRole('dialog', { name: /token/i });
        await dialog.getByLabel('Name').fill(`deploy pipeline ${++made}`);
        await dialog.getByRole('button', { name: 'Create token' }).click();
        await dialog.getByText('You will not see this token again.').waitFor(WAIT);
      },
      async (page, where) => {
        await collectAxeViolations(violations, page, `token dialog ${where}`);
      },
    );
    expect(shots).toHaveLength(4);
    // A form dialog open, in both themes.
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme });
      await signInContext(context, stack.baseURL, stack.admin.email, stack.admin.password);
      const page = await context.newPage();
      await page.goto('/settings/users');
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByRole('dialog', { name: 'Create a user' }).waitFor(WAIT);
      await collectAxeViolations(violations, page, `create-user dialog ${colorScheme}`);
      await context.close();
    }
    expect(violations).toEqual([]);
  });
});
