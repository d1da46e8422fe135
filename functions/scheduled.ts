import type { Env } from './env';
import { Services } from './services';

/**
 * The cron (every minute, see wrangler.toml): bounded housekeeping, so one run never holds the
 * database for long however much has piled up; the next run carries on.
 */
export async function scheduled(
  _controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const services = new Services(env);
  try {
    const touched = await services.bus.cleanup();
    if (touched > 0) console.log(`watchtower: bus cleanup touched ${touched} row(s)`);
  } finally {
    ctx.waitUntil(services.close());
  }
}
