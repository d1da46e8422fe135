import { createApp } from './app';
import type { Env } from './env';
import { alertChannelsRouter } from './routes/alert-channels';
import { alertRulesRouter } from './routes/alert-rules';
import { alertSilencesRouter } from './routes/alert-silences';
import { alertsRouter } from './routes/alerts';
import { audit } from './routes/audit';
import { auth } from './routes/auth';
import { commands } from './routes/commands';
import { configTransfer } from './routes/config-transfer';
import { connectionCommands } from './routes/connection-commands';
import { connectionHealth } from './routes/connection-health';
import { connections } from './routes/connections';
import { failed } from './routes/failed';
import { health } from './routes/health';
import { hosts } from './routes/hosts';
import { jobs } from './routes/jobs';
import { metrics } from './routes/metrics';
import { mountOpenApi } from './routes/openapi';
import { poll } from './routes/poll';
import { queues } from './routes/queues';
import { recorder } from './routes/recorder';
import { supervisorConfigs } from './routes/supervisor-configs';
import { supervisors } from './routes/supervisors';
import { tokens } from './routes/tokens';
import { users } from './routes/users';
import { workers } from './routes/workers';
import { scheduled } from './scheduled';

/**
 * The Watchtower Cloudflare Worker. The asset router serves the dashboard (web/dist) and only
 * `/api/*` and `/__scheduled` reach this app first (run_worker_first in wrangler.toml).
 * `createApp()` installs what every /api route shares (body limit, services, authentication,
 * error rendering); each resource router is mounted under its path and documented in
 * GET /api/openapi.json.
 */
// Chained, so the app's type carries every route: the dashboard's client (`hc<AppType>`) is typed
// from these definitions (web/ imports only this type, never the code).
const app = createApp()
  .route('/api/health', health)
  .route('/api/health/connections', connectionHealth)
  .route('/api/auth', auth)
  .route('/api/users', users)
  .route('/api/tokens', tokens)
  .route('/api/audit', audit)
  .route('/api/connections', connections)
  .route('/api/connections', connectionCommands)
  .route('/api/config', configTransfer)
  .route('/api/poll', poll)
  .route('/api/jobs', jobs)
  .route('/api/failed', failed)
  .route('/api/workers', workers)
  .route('/api/hosts', hosts)
  // Before /api/supervisors, whose /{name}/... routes would otherwise see `configs` as a name.
  .route('/api/supervisors/configs', supervisorConfigs)
  .route('/api/supervisors', supervisors)
  .route('/api/queues', queues)
  .route('/api/metrics', metrics)
  .route('/api/commands', commands)
  .route('/api/recorder', recorder)
  .route('/api/alerts/rules', alertRulesRouter)
  .route('/api/alerts/channels', alertChannelsRouter)
  .route('/api/alerts/silences', alertSilencesRouter)
  .route('/api/alerts', alertsRouter);
mountOpenApi(app);

export { app };
/** Every /api route's request and answer types, for `hc` from hono/client. */
export type AppType = typeof app;
export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
