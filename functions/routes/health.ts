import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { version } from '../../package.json';
import { createRouter } from '../app';
import { errorResponses, jsonResponse } from '../schemas/common';

export type CheckStatus = 'ok' | 'error';

const CheckStatusSchema = z.enum(['ok', 'error']);

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    checks: z.object({ database: CheckStatusSchema, bus: CheckStatusSchema }),
  })
  .openapi('Health');

export type HealthBody = z.infer<typeof HealthSchema>;

// Below the platform's patience and a load balancer's: a stuck backend reads as 503, not a hang.
const CHECK_TIMEOUT_MS = 4_000;

const healthRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['meta'],
  summary: 'Liveness of the database and the command bus',
  description: 'The only route that answers without credentials.',
  security: [],
  responses: {
    200: jsonResponse(HealthSchema, 'Both backends answer'),
    503: jsonResponse(HealthSchema, 'A backend is failing (named in `checks`)'),
    ...errorResponses(500),
  },
});

/**
 * `GET /api/health`: the only route that answers without authentication, so it says which backend
 * is failing but never why (the reason goes to the log).
 */
export const health = createRouter().openapi(healthRoute, async (c) => {
  const services = c.get('services');
  const [database, bus] = await Promise.all([
    check('database', async () => {
      await services.db.execute(sql`select 1`);
    }),
    check('bus', async () => {
      await services.bus.get('watchtower:health');
    }),
  ]);
  const ok = database === 'ok' && bus === 'ok';
  const body: HealthBody = { status: ok ? 'ok' : 'degraded', version, checks: { database, bus } };
  c.header('Cache-Control', 'no-store');
  return ok ? c.json(body, 200) : c.json(body, 503);
});

async function check(name: string, probe: () => Promise<void>): Promise<CheckStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch (error) {
    console.error(`watchtower: health check ${name} failed:`, error instanceof Error ? error.message : error);
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}
