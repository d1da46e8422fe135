import { describe, expect, it } from 'vitest';
import { app } from '../../functions/index';
import { bearer, call, createToken } from './support/api';
import { checkOpenApiDocument, operationsOf, resolveRef } from './support/openapi-check';

type JsonObject = Record<string, unknown>;

async function fetchDocument(): Promise<JsonObject> {
  const viewer = await createToken('viewer');
  const response = await call('/api/openapi.json', { headers: bearer(viewer.token) });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return response.json<JsonObject>();
}

/** Hono's `/api/users/:id` as OpenAPI's `/api/users/{id}` (a `:id{regex}` loses its regex). */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

describe('GET /api/openapi.json', () => {
  it('needs credentials like every route but /api/health', async () => {
    expect((await call('/api/openapi.json')).status).toBe(401);
  });

  it('is a structurally valid OpenAPI 3.1 document', async () => {
    const document = await fetchDocument();
    expect(checkOpenApiDocument(document as never)).toEqual([]);
    expect(document.security).toEqual([{ bearerAuth: [] }, { cookieAuth: [] }, { accessJwt: [] }]);
    expect(
      Object.keys((document.components as { securitySchemes: JsonObject }).securitySchemes).sort(),
    ).toEqual(['accessJwt', 'bearerAuth', 'cookieAuth']);
  });

  it('documents every route the Worker serves, and nothing it does not', async () => {
    const document = await fetchDocument();
    const documented = new Set(
      operationsOf(document as never).map(({ method, path }) => `${method.toUpperCase()} ${path}`),
    );
    const served = new Set(
      app.routes
        .filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/'))
        .map((route) => `${route.method} ${openApiPath(route.path)}`),
    );
    // Hono registers `router.get('/')` under `/api/x` as `/api/x`; both sides agree on that.
    expect(
      [...served].filter((route) => !documented.has(route)),
      'served but not documented',
    ).toEqual([]);
    expect(
      [...documented].filter((route) => !served.has(route)),
      'documented but not served',
    ).toEqual([]);
    for (const route of [
      'GET /api/health',
      'POST /api/auth/login',
      'POST /api/auth/logout',
      'GET /api/auth/me',
      'GET /api/users',
      'POST /api/users',
      'GET /api/users/{id}',
      'PATCH /api/users/{id}',
      'DELETE /api/users/{id}',
      'GET /api/tokens',
      'POST /api/tokens',
      'GET /api/tokens/{id}',
      'DELETE /api/tokens/{id}',
      'GET /api/audit',
      'GET /api/connections',
      'POST /api/connections',
      'GET /api/connections/{id}',
      'PATCH /api/connections/{id}',
      'DELETE /api/connections/{id}',
      'GET /api/openapi.json',
    ]) {
      expect(documented.has(route), route).toBe(true);
    }
  });

  it('carries the same schemas that validate the requests', async () => {
    const document = await fetchDocument();
    const paths = document.paths as Record<string, Record<string, JsonObject>>;
    const createUser = paths['/api/users']?.post as {
      requestBody: { required: boolean; content: { 'application/json': { schema: { $ref: string } } } };
      responses: Record<string, unknown>;
      'x-required-role': string;
    };
    expect(createUser['x-required-role']).toBe('admin');
    expect(createUser.requestBody.required).toBe(true);
    const schema = resolveRef(
      document as never,
      createUser.requestBody.content['application/json'].schema.$ref,
    ) as {
      properties: Record<string, { maxLength?: number; minLength?: number }>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties).sort()).toEqual(['email', 'name', 'password', 'role']);
    expect(schema.required.sort()).toEqual(['email', 'role']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.password?.minLength).toBe(12);
    expect(Object.keys(createUser.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
    ]);

    const audit = paths['/api/audit']?.get as { parameters: { name: string; in: string }[] };
    expect(audit.parameters.map((parameter) => parameter.name).sort()).toEqual(
      [
        'action',
        'actor',
        'actorId',
        'actorKind',
        'cursor',
        'from',
        'limit',
        'result',
        'targetId',
        'targetType',
        'to',
      ].sort(),
    );
    expect(audit.parameters.every((parameter) => parameter.in === 'query')).toBe(true);

    const login = paths['/api/auth/login']?.post as { security: unknown[] };
    expect(login.security).toEqual([]);
    const health = paths['/api/health']?.get as { security: unknown[] };
    expect(health.security).toEqual([]);
  });
});
