import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { version } from '../../package.json';
import type { AppEnv } from '../env';
import { withRole } from '../middleware/require-role';
import { errorResponses, jsonResponse } from '../schemas/common';

export const OPENAPI_PATH = '/api/openapi.json';

type OpenApiDocument = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

const openApiRoute = createRoute({
  method: 'get',
  path: OPENAPI_PATH,
  tags: ['meta'],
  summary: 'This document',
  ...withRole('viewer'),
  responses: {
    200: jsonResponse(
      z.record(z.string(), z.unknown()).openapi({ description: 'OpenAPI 3.1' }),
      'The OpenAPI document',
    ),
    ...errorResponses(401),
  },
});

/** Built once per isolate: the routes do not change after start-up. */
const documents = new WeakMap<OpenAPIHono<AppEnv>, OpenApiDocument>();

export function openApiDocument(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  let document = documents.get(app);
  if (!document) {
    document = app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'Watchtower API',
        version,
        description:
          'Control plane for BullMQ queues. Every route but GET /api/health needs credentials: an API token ' +
          '(`Authorization: Bearer wt_...`), a browser session cookie, or a Cloudflare Access JWT. Errors have ' +
          'one shape: `{ "error": { "code", "message", "details" } }`. Each operation names the role it needs in ' +
          '`x-required-role` (viewer < operator < admin). Any route that reads or writes the database may answer ' +
          '503 `unavailable` when one of its statements runs past the statement timeout ' +
          '(WATCHTOWER_STATEMENT_TIMEOUT_MS, 5 s by default); that statement (and its transaction) is rolled back.',
      },
      security: [{ bearerAuth: [] }, { cookieAuth: [] }, { accessJwt: [] }],
    });
    documents.set(app, document);
  }
  return document;
}

/**
 * `GET /api/openapi.json`, generated from the zod schemas of every route registered on `app`
 * (mounted routers included). Behind authentication like every route but /api/health.
 */
export function mountOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openapi(openApiRoute, (c) => c.json(openApiDocument(app), 200));
}
