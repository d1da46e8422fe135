import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { ZodError } from 'zod';
import type { AppEnv } from './env';
import { HttpError } from './http-error';
import { authenticate } from './middleware/authenticate';
import { errorHandler, notFoundHandler } from './middleware/errors';
import { securityHeaders } from './middleware/security-headers';
import { services } from './middleware/services';

/** The largest request body any /api route accepts. Commands and bulk filters are small JSON. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Routes that answer without credentials (DESIGN: only /api/health, plus logging in). */
export const PUBLIC_ROUTES: readonly { method: string; path: string }[] = [
  { method: 'GET', path: '/api/health' },
  { method: 'POST', path: '/api/auth/login' },
];

export interface ValidationIssue {
  /** Where the bad value was: json (the body), query, param, header, cookie. */
  location: string;
  path: (string | number)[];
  code: string;
  message: string;
}

/**
 * Turns a zod failure into the one error shape: 400 `bad_request`, a message naming the first
 * problems, and every issue in `details`. The bad values themselves are not echoed.
 */
export function validationError(location: string, error: ZodError): HttpError {
  const issues: ValidationIssue[] = error.issues.map((issue) => ({
    location,
    path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))),
    code: issue.code,
    message: issue.message,
  }));
  const summary = issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  const where = location === 'json' ? 'body' : location;
  return new HttpError(400, 'bad_request', `Invalid request ${where}: ${summary}${more}`, issues);
}

/** `defaultHook` of every router: validation failures throw, so `onError` renders them once. */
export function validationHook(
  result: { target: string } & ({ success: true } | { success: false; error: ZodError }),
): void {
  if (!result.success) throw validationError(result.target, result.error);
}

/**
 * A resource router: mount it with `app.route('/api/<resource>', router)` and declare each route
 * with `createRoute(...)` + `router.openapi(route, handler)`, so it is validated by its zod schemas
 * and documented in `GET /api/openapi.json`. (A mounted router would inherit the hook anyway;
 * setting it here keeps a router correct when it is tested on its own.)
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/**
 * The Watchtower app with everything every /api route shares, in order: the security headers, body size limit, the
 * request's services, authentication (all of /api but PUBLIC_ROUTES), and the error renderers.
 * Mount routers on it after calling this: Hono runs middleware in registration order.
 */
export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (`wt_...`) created by an admin, or the bootstrap WATCHTOWER_ADMIN_TOKEN.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cookieAuth', {
    type: 'apiKey',
    in: 'cookie',
    name: 'wt_session',
    description:
      'A browser session from POST /api/auth/login (the cookie is `__Host-wt_session` over https). Writes need an Origin header of this site (or Sec-Fetch-Site: same-origin).',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'accessJwt', {
    type: 'apiKey',
    in: 'header',
    name: 'Cf-Access-Jwt-Assertion',
    description:
      'A Cloudflare Access JWT, when WATCHTOWER_ACCESS_TEAM_DOMAIN and WATCHTOWER_ACCESS_AUD are set.',
  });

  // First, so it also covers what every later middleware answers (413, 401, errors).
  app.use('*', securityHeaders());
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new HttpError(413, 'payload_too_large', `Request body is over ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  app.use('/api/*', services());
  app.use('/api/*', authenticate({ publicRoutes: PUBLIC_ROUTES }));

  app.notFound(notFoundHandler());
  app.onError(errorHandler());
  return app;
}
