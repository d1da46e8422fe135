import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { version } from '../../package.json';
import type { AppEnv } from '../env';

export type CheckStatus = 'ok' | 'error';

export interface HealthBody {
  status: 'ok' | 'degraded';
  version: string;
  checks: { database: CheckStatus; bus: CheckStatus };
}

// Below the platform's patience and a load balancer's: a stuck backend reads as 503, not a hang.
const CHECK_TIMEOUT_MS = 4_000;

/**
 * `GET /api/health`: the only route that answers without authentication, so it says which backend
 * is failing but never why (the reason goes to the log).
 */
export const health = new Hono<AppEnv>().get('/', async (c) => {
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
  return c.json(body, ok ? 200 : 503);
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
