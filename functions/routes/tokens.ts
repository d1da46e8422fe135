import { createRoute } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { recordAudit } from '../audit';
import { createApiToken, getApiToken, listApiTokens, revokeApiToken } from '../auth/api-tokens';
import { tokenDefaultDays } from '../config';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';
import {
  ApiTokenSchema,
  apiTokenBody,
  CreatedTokenSchema,
  CreateTokenBodySchema,
  decodeCursor,
  encodeCursor,
  ListTokensQuerySchema,
  TokenListSchema,
} from '../schemas/security';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['tokens'],
  summary: 'List API tokens (never their secrets), newest first',
  ...withRole('admin'),
  request: { query: ListTokensQuerySchema },
  responses: { 200: jsonResponse(TokenListSchema, 'A page of tokens'), ...errorResponses(400, 401, 403) },
});

const createTokenRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['tokens'],
  summary: 'Create an API token',
  description: 'The answer holds the token itself, this once: it is stored only as a hash.',
  ...withRole('admin'),
  request: { body: jsonBody(CreateTokenBodySchema) },
  responses: {
    201: jsonResponse(CreatedTokenSchema, 'Created; `token` is the secret'),
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['tokens'],
  summary: 'One API token (without its secret)',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 200: jsonResponse(ApiTokenSchema, 'The token'), ...errorResponses(400, 401, 403, 404) },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['tokens'],
  summary: 'Revoke an API token',
  description: 'Takes effect on the next request. Revoking a revoked token changes nothing.',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: {
    200: jsonResponse(ApiTokenSchema, 'The token, revoked'),
    ...errorResponses(400, 401, 403, 404),
  },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No API token ${id}`);
}

export const tokens = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    let before: { createdAt: Date; id: string } | undefined;
    if (query.cursor !== undefined) {
      const parts = decodeCursor(query.cursor, 2);
      const createdAt = parts ? new Date(parts[0] ?? '') : null;
      if (
        !parts ||
        !createdAt ||
        Number.isNaN(createdAt.getTime()) ||
        !/^[0-9a-f-]{36}$/.test(parts[1] ?? '')
      ) {
        throw new HttpError(
          400,
          'bad_request',
          'Invalid request query: cursor: not a cursor from a previous page',
        );
      }
      before = { createdAt, id: parts[1] ?? '' };
    }
    const rows = await listApiTokens(c.get('services').db, {
      includeRevoked: query.includeRevoked === 'true',
      before,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > query.limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null;
    return c.json({ tokens: page.map((row) => apiTokenBody(row)), nextCursor }, 200);
  })
  .openapi(createTokenRoute, async (c) => {
    const body = c.req.valid('json');
    const actor = c.get('actor');
    const defaultDays = tokenDefaultDays(c.env);
    const expiresAt =
      body.expiresAt !== undefined
        ? new Date(body.expiresAt)
        : defaultDays === null
          ? null
          : new Date(Date.now() + defaultDays * 24 * 60 * 60 * 1000);
    const created = await c.get('services').transactional.transaction(async (tx) => {
      const result = await createApiToken(tx, {
        name: body.name,
        role: body.role,
        expiresAt,
        createdBy: actor,
      });
      await recordAudit(
        c,
        {
          action: 'tokens.create',
          targetType: 'token',
          targetId: result.row.id,
          result: 'ok',
          details: {
            name: result.row.name,
            role: result.row.role,
            prefix: result.row.prefix,
            expiresAt: expiresAt?.toISOString() ?? null,
          },
        },
        { db: tx },
      );
      return result;
    });
    // The secret must not linger in any cache between here and the client.
    c.header('Cache-Control', 'no-store');
    return c.json({ ...apiTokenBody(created.row), token: created.token }, 201);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getApiToken(c.get('services').db, id);
    if (!row) throw notFound(id);
    return c.json(apiTokenBody(row), 200);
  })
  .openapi(revokeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const revoked = await revokeApiToken(tx, id);
      if (!revoked) throw notFound(id);
      if (revoked.changed) {
        await recordAudit(
          c,
          {
            action: 'tokens.revoke',
            targetType: 'token',
            targetId: id,
            result: 'ok',
            details: { name: revoked.row.name, role: revoked.row.role, prefix: revoked.row.prefix },
          },
          { db: tx },
        );
      }
      return revoked.row;
    });
    return c.json(apiTokenBody(row), 200);
  });
