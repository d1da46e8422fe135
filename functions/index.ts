import { Hono } from 'hono';
import type { AppEnv, Env } from './env';
import { errorHandler, notFoundHandler } from './middleware/errors';
import { services } from './middleware/services';
import { health } from './routes/health';
import { scheduled } from './scheduled';

/**
 * The Watchtower Cloudflare Worker. The asset router serves the dashboard (web/dist) and only
 * `/api/*` and `/__scheduled` reach this app first (run_worker_first in wrangler.toml).
 */
const app = new Hono<AppEnv>();

app.use('/api/*', services());
app.route('/api/health', health);

app.notFound(notFoundHandler());
app.onError(errorHandler());

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
