import { createRoute } from '@hono/zod-openapi';
import { bumpConfigVersion, readConfigVersion } from '../../core/config/config-version';
import { createRouter, validationError } from '../app';
import { recordAudit } from '../audit';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import {
  deleteSupervisorConfig,
  getSupervisorConfig,
  insertSupervisorConfig,
  listSupervisorConfigs,
  updateSupervisorConfig,
} from '../queries/supervisor-configs';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';
import { decodeCursor, encodeCursor } from '../schemas/security';
import {
  CreateSupervisorConfigBodySchema,
  ListSupervisorConfigsQuerySchema,
  SupervisorConfigListSchema,
  SupervisorConfigSchema,
  type SupervisorConfigView,
  settingsOf,
  supervisorConfigBody,
  UpdateSupervisorConfigBodySchema,
} from '../schemas/supervisor-configs';

/**
 * Supervisors kept in the database, mounted at /api/supervisors/configs: what a host's
 * configuration file says of a supervisor, run by the hosts whose labels match its selector and
 * that allow a processors directory. Viewers read, admins change; every change is audited, raises
 * the configuration version and NOTIFYs `watchtower_config`, so listening hosts apply it at once.
 */

const TAGS = ['supervisor configurations'];

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: TAGS,
  summary: 'List the supervisors kept in the database, by name',
  ...withRole('viewer'),
  request: { query: ListSupervisorConfigsQuerySchema },
  responses: {
    200: jsonResponse(SupervisorConfigListSchema, 'A page of supervisor configurations'),
    ...errorResponses(400, 401, 403),
  },
});

const createConfigRoute = createRoute({
  method: 'post',
  path: '/',
  tags: TAGS,
  summary: 'Create a supervisor configuration',
  description:
    "Hosts whose labels include all of `labels` start it within seconds. Processor paths are relative to each host's processors directory: an absolute path or `..` is refused with 400.",
  ...withRole('admin'),
  request: { body: jsonBody(CreateSupervisorConfigBodySchema) },
  responses: {
    201: jsonResponse(SupervisorConfigSchema, 'Created'),
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: TAGS,
  summary: 'One supervisor configuration',
  ...withRole('viewer'),
  request: { params: UuidParams },
  responses: {
    200: jsonResponse(SupervisorConfigSchema, 'The supervisor configuration'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: TAGS,
  summary: 'Change a supervisor configuration',
  description:
    'Only the fields given change; the result is checked as a whole. Hosts running it apply the change without a restart: new process bounds resize the pools in place; any other change starts new worker processes while the old ones finish their jobs.',
  ...withRole('admin'),
  request: { params: UuidParams, body: jsonBody(UpdateSupervisorConfigBodySchema) },
  responses: {
    200: jsonResponse(SupervisorConfigSchema, 'The supervisor configuration as changed'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: TAGS,
  summary: 'Delete a supervisor configuration',
  description: 'Hosts running it drain it: its worker processes finish their jobs, then stop.',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No supervisor configuration ${id}`);
}

/** What the audit log keeps of a configuration: all of it (nothing in it is secret). */
function audited(view: SupervisorConfigView): Record<string, unknown> {
  return { ...settingsOf(view), version: view.version };
}

export const supervisorConfigs = createRouter()
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
    const db = c.get('services').db;
    const [rows, configVersion] = await Promise.all([
      listSupervisorConfigs(db, { after, limit: query.limit + 1 }),
      readConfigVersion(db),
    ]);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor([last.name]) : null;
    return c.json({ configs: page.map(supervisorConfigBody), nextCursor, configVersion }, 200);
  })
  .openapi(createConfigRoute, async (c) => {
    const body = c.req.valid('json');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const created = await insertSupervisorConfig(tx, body, c.get('actor'));
      await bumpConfigVersion(tx);
      await recordAudit(
        c,
        {
          action: 'supervisor-configs.create',
          targetType: 'supervisor-config',
          targetId: created.id,
          result: 'ok',
          details: audited(created),
        },
        { db: tx },
      );
      return created;
    });
    return c.json(supervisorConfigBody(row), 201);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getSupervisorConfig(c.get('services').db, id);
    if (!row) throw notFound(id);
    return c.json(supervisorConfigBody(row), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      // Locked: two changes at once apply one after the other, neither undoing the other.
      const before = await getSupervisorConfig(tx, id, { lock: true });
      if (!before) throw notFound(id);
      const merged: Record<string, unknown> = settingsOf(before);
      for (const [key, value] of Object.entries(patch)) if (value !== undefined) merged[key] = value;
      // The queues changed and the maximum was not given: it follows the new floor, as on create.
      if (
        patch.maxProcesses === undefined &&
        (patch.queues !== undefined || patch.minProcesses !== undefined)
      ) {
        const min = Number(merged.minProcesses);
        const queues = (merged.queues as string[]).length;
        if (Number(merged.maxProcesses) < min * queues) merged.maxProcesses = min * queues;
      }
      const parsed = CreateSupervisorConfigBodySchema.safeParse(merged);
      if (!parsed.success) throw validationError('json', parsed.error);
      const updated = await updateSupervisorConfig(tx, id, parsed.data, c.get('actor'));
      if (!updated) throw notFound(id);
      await bumpConfigVersion(tx);
      const changes: Record<string, unknown> = {};
      const after = settingsOf(updated);
      const previous = settingsOf(before);
      for (const key of Object.keys(after)) {
        if (JSON.stringify(after[key]) !== JSON.stringify(previous[key])) {
          changes[key] = { from: previous[key], to: after[key] };
        }
      }
      await recordAudit(
        c,
        {
          action: 'supervisor-configs.update',
          targetType: 'supervisor-config',
          targetId: id,
          result: 'ok',
          details: { name: updated.name, version: updated.version, changes },
        },
        { db: tx },
      );
      return updated;
    });
    return c.json(supervisorConfigBody(row), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    await c.get('services').transactional.transaction(async (tx) => {
      const row = await getSupervisorConfig(tx, id, { lock: true });
      if (!row) throw notFound(id);
      if (!(await deleteSupervisorConfig(tx, id))) throw notFound(id);
      await bumpConfigVersion(tx);
      await recordAudit(
        c,
        {
          action: 'supervisor-configs.delete',
          targetType: 'supervisor-config',
          targetId: id,
          result: 'ok',
          details: audited(row),
        },
        { db: tx },
      );
    });
    return c.body(null, 204);
  });
