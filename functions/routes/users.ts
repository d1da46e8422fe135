import { createRoute } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { recordAudit } from '../audit';
import type { Actor } from '../auth/actor';
import { hashPassword } from '../auth/passwords';
import { revokeUserSessions } from '../auth/sessions';
import { createUser, deleteUser, getUser, listUsers, type UserPatch, updateUser } from '../auth/users';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';
import {
  CreateUserBodySchema,
  decodeCursor,
  encodeCursor,
  ListUsersQuerySchema,
  UpdateUserBodySchema,
  UserListSchema,
  UserSchema,
  userBody,
} from '../schemas/security';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['users'],
  summary: 'List users, by email',
  ...withRole('admin'),
  request: { query: ListUsersQuerySchema },
  responses: { 200: jsonResponse(UserListSchema, 'A page of users'), ...errorResponses(400, 401, 403) },
});

const createUserRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['users'],
  summary: 'Create a user',
  ...withRole('admin'),
  request: { body: jsonBody(CreateUserBodySchema) },
  responses: {
    201: jsonResponse(UserSchema, 'Created'),
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['users'],
  summary: 'One user',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 200: jsonResponse(UserSchema, 'The user'), ...errorResponses(400, 401, 403, 404) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['users'],
  summary: 'Change a user: name, role, disabled, password',
  description:
    'Disabling a user or setting a password ends their sessions. An admin cannot demote, disable or delete themselves.',
  ...withRole('admin'),
  request: { params: UuidParams, body: jsonBody(UpdateUserBodySchema) },
  responses: {
    200: jsonResponse(UserSchema, 'The user as changed'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['users'],
  summary: 'Delete a user and end their sessions',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404, 409) },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No user ${id}`);
}

/** Keeps an admin from locking themselves out by accident (the bootstrap token is the only way back). */
function assertNotSelf(actor: Actor, id: string, what: string): void {
  if ((actor.kind === 'session' || actor.kind === 'access') && actor.id === id) {
    throw new HttpError(409, 'conflict', `You cannot ${what} yourself; ask another admin`);
  }
}

export const users = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    let after: string | undefined;
    if (query.cursor !== undefined) {
      const parts = decodeCursor(query.cursor, 1);
      if (!parts)
        throw new HttpError(
          400,
          'bad_request',
          'Invalid request query: cursor: not a cursor from a previous page',
        );
      after = parts[0];
    }
    const rows = await listUsers(c.get('services').db, { after, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor([last.email]) : null;
    return c.json({ users: page.map(userBody), nextCursor }, 200);
  })
  .openapi(createUserRoute, async (c) => {
    const body = c.req.valid('json');
    const passwordHash = body.password === undefined ? null : await hashPassword(body.password);
    const user = await c.get('services').transactional.transaction(async (tx) => {
      const created = await createUser(tx, {
        email: body.email,
        name: body.name ?? '',
        role: body.role,
        passwordHash,
      });
      await recordAudit(
        c,
        {
          action: 'users.create',
          targetType: 'user',
          targetId: created.id,
          result: 'ok',
          details: { email: created.email, role: created.role, password: passwordHash !== null },
        },
        { db: tx },
      );
      return created;
    });
    return c.json(userBody(user), 201);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const user = await getUser(c.get('services').db, id);
    if (!user) throw notFound(id);
    return c.json(userBody(user), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const actor = c.get('actor');
    if (body.role !== undefined && body.role !== 'admin') assertNotSelf(actor, id, 'demote');
    if (body.disabled === true) assertNotSelf(actor, id, 'disable');
    const patch: UserPatch = { name: body.name, role: body.role, disabled: body.disabled };
    if (body.password !== undefined) patch.passwordHash = await hashPassword(body.password);
    const user = await c.get('services').transactional.transaction(async (tx) => {
      const before = await getUser(tx, id);
      if (!before) throw notFound(id);
      const updated = await updateUser(tx, id, patch);
      if (!updated) throw notFound(id);
      if (body.disabled === true || patch.passwordHash !== undefined) {
        // A new password ends the other sessions; the admin changing their own keeps theirs.
        await revokeUserSessions(tx, id, actor.id === id ? c.get('sessionId') : undefined);
      }
      const changes: Record<string, unknown> = {};
      if (body.name !== undefined && body.name !== before.name)
        changes.name = { from: before.name, to: body.name };
      if (body.role !== undefined && body.role !== before.role)
        changes.role = { from: before.role, to: body.role };
      if (body.disabled !== undefined && body.disabled !== before.disabled) changes.disabled = body.disabled;
      if (patch.passwordHash !== undefined) changes.password = 'changed';
      await recordAudit(
        c,
        {
          action: 'users.update',
          targetType: 'user',
          targetId: id,
          result: 'ok',
          details: { email: updated.email, changes },
        },
        { db: tx },
      );
      return updated;
    });
    return c.json(userBody(user), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    assertNotSelf(c.get('actor'), id, 'delete');
    await c.get('services').transactional.transaction(async (tx) => {
      const deleted = await deleteUser(tx, id);
      if (!deleted) throw notFound(id);
      await recordAudit(
        c,
        {
          action: 'users.delete',
          targetType: 'user',
          targetId: id,
          result: 'ok',
          details: { email: deleted.email, role: deleted.role },
        },
        { db: tx },
      );
    });
    return c.body(null, 204);
  });
