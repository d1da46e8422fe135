import { createRoute } from '@hono/zod-openapi';
import { bumpConfigVersion } from '../../core/config/config-version';
import { createRouter, validationError } from '../app';
import { recordAudit } from '../audit';
import {
  auditedFields,
  plainChanges,
  plainFieldsOf,
  plainValues,
  sealField,
  splitSecret,
} from '../connections/connection-values';
import { requireKeyRing } from '../encryption-keys';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import {
  type ConnectionRow,
  connectionUsers,
  deleteConnection,
  getConnection,
  getConnectionWithTest,
  getLastTest,
  insertConnection,
  listConnectionsWithTests,
  updateConnection,
} from '../queries/connections';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';
import {
  ConnectionListSchema,
  ConnectionSchema,
  CreateConnectionBodySchema,
  connectionBody,
  ListConnectionsQuerySchema,
  PLAIN_SHAPES,
  UpdateConnectionBodySchema,
} from '../schemas/connections';
import { decodeCursor, encodeCursor } from '../schemas/security';

/**
 * Connections: the queue backends hosts reach, kept centrally. Viewers read, admins
 * change. Secrets (a Redis password, a Postgres URL) are sealed before they reach the database
 * (WATCHTOWER_ENCRYPTION_KEY) and never come back out of any route: a read says `hasPassword` /
 * `hasUrl`, the audit log only that one was set or cleared.
 */

const TAGS = ['connections'];

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: TAGS,
  summary: 'List connections, by name (never their secrets)',
  ...withRole('viewer'),
  request: { query: ListConnectionsQuerySchema },
  responses: {
    200: jsonResponse(ConnectionListSchema, 'A page of connections'),
    ...errorResponses(400, 401, 403),
  },
});

const createConnectionRoute = createRoute({
  method: 'post',
  path: '/',
  tags: TAGS,
  summary: 'Create a connection',
  description:
    'The password (or a Postgres URL) is sealed with AES-256-GCM under WATCHTOWER_ENCRYPTION_KEY before it is stored; without that key a secret is refused with 500 `misconfigured`.',
  ...withRole('admin'),
  request: { body: jsonBody(CreateConnectionBodySchema) },
  responses: {
    201: jsonResponse(ConnectionSchema, 'Created'),
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: TAGS,
  summary: 'One connection (never its secrets)',
  ...withRole('viewer'),
  request: { params: UuidParams },
  responses: { 200: jsonResponse(ConnectionSchema, 'The connection'), ...errorResponses(400, 401, 403, 404) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: TAGS,
  summary: 'Change a connection',
  description:
    "Only the fields given change, and only fields of the connection's kind are accepted. `password`: a string replaces it, null removes it, leaving it out keeps it. The kind cannot change. Every change raises `version`.",
  ...withRole('admin'),
  request: { params: UuidParams, body: jsonBody(UpdateConnectionBodySchema) },
  responses: {
    200: jsonResponse(ConnectionSchema, 'The connection as changed'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: TAGS,
  summary: 'Delete a connection',
  description: 'Refused with 409 while a supervisor uses the connection.',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404, 409) },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No connection ${id}`);
}

function refusedField(field: string, kind: string, why: string): HttpError {
  return new HttpError(
    400,
    'bad_request',
    `Invalid request body: ${field}: ${why} for a ${kind} connection`,
    [
      {
        location: 'json',
        path: [field],
        code: 'unrecognized_keys',
        message: `does not apply to a ${kind} connection`,
      },
    ],
  );
}

export const connections = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    let after: string | undefined;
    if (query.cursor !== undefined) {
      const parts = decodeCursor(query.cursor, 1);
      if (!parts) {
        throw new HttpError(
          400,
          'bad_request',
          'Invalid request query: cursor: not a cursor from a previous page',
        );
      }
      after = parts[0];
    }
    const rows = await listConnectionsWithTests(c.get('services').db, { after, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor([last.connection.name]) : null;
    return c.json(
      { connections: page.map((row) => connectionBody(row.connection, row.lastTest)), nextCursor },
      200,
    );
  })
  .openapi(createConnectionRoute, async (c) => {
    const body = c.req.valid('json');
    // Chosen here: the secrets are sealed bound to the row's id, before the row exists.
    const id = crypto.randomUUID();
    const { plain, field, secret } = splitSecret(body);
    // Checked before anything is written: without the key a secret is refused, never stored in clear.
    const sealed =
      secret === undefined ? null : await sealField(await requireKeyRing(c.env), id, field, secret);
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const created = await insertConnection(
        tx,
        id,
        {
          ...plainValues(plain),
          passwordSealed: field === 'password' ? sealed : null,
          urlSealed: field === 'url' ? sealed : null,
        },
        c.get('actor'),
      );
      await recordAudit(
        c,
        {
          action: 'connections.create',
          targetType: 'connection',
          targetId: id,
          result: 'ok',
          details: auditedFields(created),
        },
        { db: tx },
      );
      return created;
    });
    return c.json(connectionBody(row, null), 201);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getConnectionWithTest(c.get('services').db, id);
    if (!row) throw notFound(id);
    return c.json(connectionBody(row.connection, row.lastTest), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const { password, url, ...plainPatch } = patch;
    const row = await c.get('services').transactional.transaction(async (tx) => {
      // Locked: two changes at once apply one after the other, neither undoing the other.
      const before = await getConnection(tx, id, { lock: true });
      if (!before) throw notFound(id);
      const values = mergedValues(before, plainPatch);
      if (before.kind === 'postgres' && password !== undefined) {
        throw refusedField('password', before.kind, 'not accepted (the password is part of `url`)');
      }
      if (before.kind !== 'postgres' && url !== undefined) {
        throw refusedField('url', before.kind, 'not accepted (give host and port)');
      }
      // After the input is known good (a bad one is a 400 whatever the key), before any write:
      // without the key a secret is refused, never stored in clear.
      const ring = typeof password === 'string' || url !== undefined ? await requireKeyRing(c.env) : null;
      const passwordSealed =
        typeof password === 'string' && ring
          ? await sealField(ring, id, 'password', password)
          : password === null
            ? null
            : before.passwordSealed;
      const urlSealed = url !== undefined && ring ? await sealField(ring, id, 'url', url) : before.urlSealed;
      const updated = await updateConnection(
        tx,
        id,
        { ...values, passwordSealed, urlSealed },
        c.get('actor'),
      );
      if (!updated) throw notFound(id);
      // Hosts running a database supervisor on it reconnect with the new settings.
      await bumpConfigVersion(tx);
      const changes = plainChanges(before, updated);
      if (password !== undefined) changes.password = password === null ? 'cleared' : 'replaced';
      if (url !== undefined) changes.url = 'replaced';
      await recordAudit(
        c,
        {
          action: 'connections.update',
          targetType: 'connection',
          targetId: id,
          result: 'ok',
          details: { name: updated.name, kind: updated.kind, version: updated.version, changes },
        },
        { db: tx },
      );
      return { updated, lastTest: await getLastTest(tx, id) };
    });
    return c.json(connectionBody(row.updated, row.lastTest), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    await c.get('services').transactional.transaction(async (tx) => {
      // Locked, so the row cannot change between the in-use check and the delete.
      const row = await getConnection(tx, id, { lock: true });
      if (!row) throw notFound(id);
      const users = await connectionUsers(tx, row.name);
      if (users.length > 0) {
        const named = users
          .map((user) =>
            user.hostId === null
              ? `${user.supervisor} (kept in the database)`
              : `${user.supervisor} on ${user.hostId}`,
          )
          .join(', ');
        throw new HttpError(
          409,
          'conflict',
          `Connection ${row.name} is in use by supervisor(s) ${named}: remove them from it first`,
          {
            supervisors: users,
          },
        );
      }
      const deleted = await deleteConnection(tx, id);
      if (!deleted) throw notFound(id);
      await recordAudit(
        c,
        {
          action: 'connections.delete',
          targetType: 'connection',
          targetId: id,
          result: 'ok',
          details: auditedFields(deleted),
        },
        { db: tx },
      );
    });
    return c.body(null, 204);
  });

/**
 * The row's non-secret fields with the change applied, checked as a whole against the schema of
 * the row's kind: a field of another kind, or a merged state that is not a valid connection, is a
 * 400 naming the field. `null` clears an optional field (username, keyPrefix).
 */
function mergedValues(before: ConnectionRow, patch: Record<string, unknown>) {
  const shape = PLAIN_SHAPES[before.kind];
  const merged: Record<string, unknown> = plainFieldsOf(before);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value !== null) merged[key] = value;
    else if (Object.hasOwn(shape.shape, key)) delete merged[key];
    else throw refusedField(key, before.kind, 'not accepted');
  }
  const parsed = shape.safeParse(merged);
  if (!parsed.success) throw validationError('json', parsed.error);
  return plainValues(parsed.data);
}
