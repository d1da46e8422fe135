import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../functions/index';
import { SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY } from '../../functions/security-headers';
import { adminHeaders, call, createUser, randomIp } from './support/api';

const HTTPS_ORIGIN = 'https://watchtower.test';

async function callHttps(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${HTTPS_ORIGIN}${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

function expectSecurityHeaders(response: Response): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS))
    expect(response.headers.get(name)).toBe(value);
}

describe('security headers', () => {
  it('the policy allows no inline script, only scripts of this origin, and no framing', () => {
    const policy = SECURITY_HEADERS['Content-Security-Policy'] ?? '';
    const directives = new Map(
      policy.split(';').map((part) => {
        const [name = '', ...values] = part.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    expect(SECURITY_HEADERS['X-Content-Type-Options']).toBe('nosniff');
    expect(SECURITY_HEADERS['Referrer-Policy']).toBe('same-origin');
  });

  it('are on every answer of the Worker: success, 304, 401, 404, 400 and 413', async () => {
    const health = await call('/api/health');
    expect(health.status).toBe(200);
    expectSecurityHeaders(health);

    const poll = await call('/api/poll', { headers: adminHeaders() });
    expect(poll.status).toBe(200);
    expectSecurityHeaders(poll);
    const unchanged = await call('/api/poll', {
      headers: { ...adminHeaders(), 'if-none-match': poll.headers.get('etag') ?? '' },
    });
    // The poll may have changed meanwhile (other suites write jobs); both answers need the headers.
    expect([200, 304]).toContain(unchanged.status);
    expectSecurityHeaders(unchanged);

    const unauthenticated = await call('/api/jobs');
    expect(unauthenticated.status).toBe(401);
    expectSecurityHeaders(unauthenticated);

    const missing = await call('/api/nope', { headers: adminHeaders() });
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);

    const bad = await call('/api/jobs?limit=nope', { headers: adminHeaders() });
    expect(bad.status).toBe(400);
    expectSecurityHeaders(bad);

    const tooBig = await call('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(300 * 1024),
    });
    expect(tooBig.status).toBe(413);
    expectSecurityHeaders(tooBig);
  });

  it('add Strict-Transport-Security over https only', async () => {
    const secure = await callHttps('/api/health');
    expect(secure.status).toBe(200);
    expectSecurityHeaders(secure);
    expect(secure.headers.get('strict-transport-security')).toBe(STRICT_TRANSPORT_SECURITY);
    expect(STRICT_TRANSPORT_SECURITY).toMatch(/max-age=\d{8,}/);
    const refused = await callHttps('/api/jobs');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('strict-transport-security')).toBe(STRICT_TRANSPORT_SECURITY);
    const plain = await call('/api/health');
    expect(plain.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('the session cookie over https', () => {
  it('is __Host-wt_session (Secure, Path=/, no Domain), and only that name is read', async () => {
    const user = await createUser('viewer');
    const login = await callHttps('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: HTTPS_ORIGIN, 'cf-connecting-ip': randomIp() },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-wt_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toMatch(/domain=/i);
    const value = /^__Host-wt_session=([^;]+)/.exec(cookie)?.[1] ?? '';

    const me = await callHttps('/api/auth/me', { headers: { cookie: `__Host-wt_session=${value}` } });
    expect(me.status).toBe(200);
    // Without the prefix the cookie could have been planted by another subdomain: not read.
    const unprefixed = await callHttps('/api/auth/me', { headers: { cookie: `wt_session=${value}` } });
    expect(unprefixed.status).toBe(401);

    const logout = await callHttps('/api/auth/logout', {
      method: 'POST',
      headers: { cookie: `__Host-wt_session=${value}`, origin: HTTPS_ORIGIN },
    });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^__Host-wt_session=;.*Max-Age=0/);
  });
});
