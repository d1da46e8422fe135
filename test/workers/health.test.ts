import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createNeonDatabase } from '../../core/db/neon-database';
import { busEntries } from '../../drizzle/schema';
import worker from '../../functions/index';
import type { HealthBody } from '../../functions/routes/health';

interface ErrorResponse {
  error: { code: string; message: string };
}

describe('the Cloudflare Worker inside workerd', () => {
  it('answers /api/health with both backends ok, through the Neon driver and the bus', async () => {
    const response = await exports.default.fetch('http://watchtower.test/api/health');
    const body = await response.json<HealthBody>();
    expect(body).toEqual({
      status: 'ok',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      checks: { database: 'ok', bus: 'ok' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('checks the redis bus through the Upstash REST API when WATCHTOWER_COMMAND_BUS=redis', async () => {
    const redis = { ...env, WATCHTOWER_COMMAND_BUS: 'redis' };
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request('http://watchtower.test/api/health'), redis, ctx);
    await waitOnExecutionContext(ctx);
    expect(await response.json<HealthBody>()).toMatchObject({ checks: { database: 'ok', bus: 'ok' } });
    expect(response.status).toBe(200);
  });

  it('answers an unknown /api route with the JSON 404 shape', async () => {
    // Authenticated: without credentials every /api route but /api/health answers 401 first.
    const response = await exports.default.fetch('http://watchtower.test/api/nope', {
      method: 'POST',
      headers: { authorization: `Bearer ${env.WATCHTOWER_ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json<ErrorResponse>()).toEqual({
      error: { code: 'not_found', message: 'No route for POST /api/nope' },
    });
  });

  it('answers 503 with the failing check named when the database is unreachable', async () => {
    // Port 9 (discard) on loopback: nothing listens there, so the relay's connection fails.
    const broken = { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/watchtower_test' };
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request('http://watchtower.test/api/health'), broken, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(await response.json<HealthBody>()).toMatchObject({
      status: 'degraded',
      checks: { database: 'error', bus: 'error' },
    });
  });

  it('refuses to serve with an unknown WATCHTOWER_COMMAND_BUS, naming the variable', async () => {
    const misconfigured = { ...env, WATCHTOWER_COMMAND_BUS: 'kafka' };
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request('http://watchtower.test/api/health'), misconfigured, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(500);
    const body = await response.json<ErrorResponse>();
    expect(body.error.code).toBe('misconfigured');
    expect(body.error.message).toContain('WATCHTOWER_COMMAND_BUS');
  });

  it('names a missing DATABASE_URL instead of failing obscurely', async () => {
    const { DATABASE_URL: _, ...missing } = env;
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request('http://watchtower.test/api/health'), missing, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(500);
    expect(await response.json<ErrorResponse>()).toMatchObject({
      error: { code: 'misconfigured', message: expect.stringContaining('DATABASE_URL') },
    });
  });

  it('runs the bus housekeeping from the cron handler', async () => {
    // An entry already past its TTL: the cron's cleanup deletes it (a get would only hide it).
    const key = `watchtower:test:cron:${crypto.randomUUID()}`;
    const database = createNeonDatabase({
      url: env.DATABASE_URL!,
      localRelay: env.WATCHTOWER_LOCAL_NEON_RELAY,
    });
    try {
      await database.db
        .insert(busEntries)
        .values({ key, value: 'stale', expiresAt: new Date(Date.now() - 60_000) });
      // Each run is bounded; other suites share this database, so allow a few runs to reach ours.
      let left: unknown[] = [];
      for (let run = 0; run < 5; run++) {
        const ctx = createExecutionContext();
        await worker.scheduled(createScheduledController({ cron: '* * * * *' }), env, ctx);
        await waitOnExecutionContext(ctx);
        left = await database.db.select().from(busEntries).where(eq(busEntries.key, key));
        if (left.length === 0) break;
      }
      expect(left).toEqual([]);
    } finally {
      await database.close();
    }
  });
});

describe('the dashboard assets', () => {
  // exports.default.fetch (like SELF.fetch) goes straight to the Worker, past the asset router, so
  // the single-page-application fallback is checked through the ASSETS binding.
  it('serves index.html for a deep link the SPA routes itself', async () => {
    const response = await env.ASSETS.fetch('http://watchtower.test/jobs/failed/123');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<title>Watchtower</title>');
  });
});
