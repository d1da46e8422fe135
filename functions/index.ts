import { createApp } from './app';
import type { Env } from './env';
import { audit } from './routes/audit';
import { auth } from './routes/auth';
import { commands } from './routes/commands';
import { failed } from './routes/failed';
import { health } from './routes/health';
import { hosts } from './routes/hosts';
import { jobs } from './routes/jobs';
import { metrics } from './routes/metrics';
import { mountOpenApi } from './routes/openapi';
import { poll } from './routes/poll';
import { queues } from './routes/queues';
import { recorder } from './routes/recorder';
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
const app = createApp();

app.route('/api/health', health);
app.route('/api/auth', auth);
app.route('/api/users', users);
app.route('/api/tokens', tokens);
app.route('/api/audit', audit);
app.route('/api/poll', poll);
app.route('/api/jobs', jobs);
app.route('/api/failed', failed);
app.route('/api/workers', workers);
app.route('/api/hosts', hosts);
app.route('/api/supervisors', supervisors);
app.route('/api/queues', queues);
app.route('/api/metrics', metrics);
app.route('/api/commands', commands);
app.route('/api/recorder', recorder);
mountOpenApi(app);

export { app };
export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
