import type { Env } from './env';
import { runHousekeeping } from './housekeeping/run-housekeeping';
import { Services } from './services';

/**
 * The cron (every minute, see wrangler.toml): bounded housekeeping (functions/housekeeping/), so
 * one run never holds the database for long however much has piled up; the next run carries on.
 * Steps are independent: one that fails is logged, the others still run, and the run then throws
 * so that the Cloudflare dashboard shows it as failed. Besides pruning, the cron keeps the hourly
 * metrics and connection health rollups (watchtower_metrics_hourly,
 * watchtower_connection_health_hourly) up to date from the per-minute rows.
 */
export async function scheduled(
  _controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  // Not under the API's statement timeout: see Services.
  const services = new Services(env, { statementTimeout: false });
  try {
    const run = await runHousekeeping({
      get db() {
        return services.db;
      },
      get bus() {
        return services.bus;
      },
      env,
    });
    console.log(run.summary);
    if (run.failures.length > 0) {
      throw new Error(
        `housekeeping: ${run.failures.length} step(s) failed: ${run.failures
          .map((failure) => `${failure.step}: ${failure.error}`)
          .join('; ')}`,
      );
    }
  } finally {
    ctx.waitUntil(services.close());
  }
}
