import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../../functions/security-headers';
import { testEnv } from '../setup/test-env';

// `npm start` brings the system up (database migrated, stand-ins, the Cloudflare Worker in workerd)
// and Ctrl-C stops all of it, leaving no process behind.
describe('npm start', () => {
  const database = new URL(testEnv.databaseUrl);
  database.pathname = '/watchtower_e2e_dev';
  const port = 18_787;
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  const adminEmail = `Dev-Admin-${process.pid}@Example.test`;
  const adminPassword = `dev password ${process.pid} ${Date.now()}`;

  it('serves the API and the dashboard, prints a sign-in that works, and stops cleanly on Ctrl-C', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: database.toString(),
        PORT: String(port),
        WATCHTOWER_LOCAL_NEON_RELAY_PORT: '15488',
        WATCHTOWER_LOCAL_UPSTASH_PORT: '18080',
        // As a new user sets them: the printed sign-in must then work (it got 401 when npm start
        // did not pass them on and the database already had users).
        WATCHTOWER_ADMIN_EMAIL: adminEmail,
        WATCHTOWER_ADMIN_PASSWORD: adminPassword,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });

    const deadline = Date.now() + 90_000;
    while (!output.includes('Ready. Ctrl-C stops everything.')) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start was not ready within 90 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { database: 'ok', bus: 'ok' } });
    const page = await fetch(`http://127.0.0.1:${port}/some/dashboard/page`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Watchtower');
    // The asset router serves the dashboard with the Worker's security headers (web/dist/_headers).
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(page.headers.get(name)).toBe(value);

    expect(output).toContain(
      `Sign in at http://127.0.0.1:${port} as ${adminEmail.toLowerCase()} with WATCHTOWER_ADMIN_PASSWORD`,
    );
    const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ user: { email: adminEmail.toLowerCase(), role: 'admin' } });

    // npm start gives the Worker an encryption key: a connection's password can be saved.
    const cookie = /wt_session=[^;]*/.exec(login.headers.get('set-cookie') ?? '')?.[0] ?? '';
    const session = { cookie, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' };
    const connection = await fetch(`http://127.0.0.1:${port}/api/connections`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        kind: 'redis',
        name: `dev-${process.pid}-${Date.now()}`,
        host: 'h',
        password: 'p',
      }),
    });
    expect(connection.status, await connection.clone().text()).toBe(201);
    const { id } = (await connection.json()) as { id: string };
    const removed = await fetch(`http://127.0.0.1:${port}/api/connections/${id}`, {
      method: 'DELETE',
      headers: session,
    });
    expect(removed.status).toBe(204);

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/api/health`)).rejects.toThrow();
    const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(`--port ${port}`) || line.includes(`:${port}`));
    expect(leftovers).toEqual([]);
  }, 120_000);
});
