import { createRoute } from '@hono/zod-openapi';
import { createRouter, validationError } from '../app';
import { recordAudit } from '../audit';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import {
  checkChannelIds,
  deleteAlertRule,
  getAlertRule,
  insertAlertRule,
  listAlertRules,
  updateAlertRule,
} from '../queries/alert-rules';
import {
  AlertRuleListSchema,
  type AlertRuleRow,
  AlertRuleSchema,
  alertRuleBody,
  CreateAlertRuleBodySchema,
  ListAlertRulesQuerySchema,
  UpdateAlertRuleBodySchema,
} from '../schemas/alert-rules';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';
import { decodeCursor, encodeCursor } from '../schemas/security';

/**
 * Alert rules: what the cron evaluates every minute (functions/alerts/). Viewers read; operators
 * and admins change them, and every change is in the audit log with the rule as it became.
 */

const TAGS = ['alerts'];

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: TAGS,
  summary: 'List alert rules, by name',
  ...withRole('viewer'),
  request: { query: ListAlertRulesQuerySchema },
  responses: { 200: jsonResponse(AlertRuleListSchema, 'A page of rules'), ...errorResponses(400, 401, 403) },
});

const createRuleRoute = createRoute({
  method: 'post',
  path: '/',
  tags: TAGS,
  summary: 'Create an alert rule',
  description:
    'Kinds and their `params`: host_down {seconds}; crash_loop {restarts, minutes}; queue_wait {seconds}; queue_depth {waiting}; failure_rate {percent, minJobs, minutes}; queue_stalled {minutes}; connection_down {}; connection_slow {p95Ms}; maxmemory_policy {}. An alert fires after `forEvaluations` consecutive evaluations (one a minute) find the condition, resolves after as many find it gone, and notifies its channels when it fires, every `renotifyMinutes` while firing, and once when resolved.',
  ...withRole('operator'),
  request: { body: jsonBody(CreateAlertRuleBodySchema) },
  responses: {
    201: jsonResponse(AlertRuleSchema, 'Created'),
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: TAGS,
  summary: 'One alert rule',
  ...withRole('viewer'),
  request: { params: UuidParams },
  responses: { 200: jsonResponse(AlertRuleSchema, 'The rule'), ...errorResponses(400, 401, 403, 404) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: TAGS,
  summary: 'Change an alert rule',
  description:
    'Only the fields given change; `params`, when given, replaces all of them. The kind cannot change. The result is checked as a whole against the kind.',
  ...withRole('operator'),
  request: { params: UuidParams, body: jsonBody(UpdateAlertRuleBodySchema) },
  responses: {
    200: jsonResponse(AlertRuleSchema, 'The rule as changed'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: TAGS,
  summary: 'Delete an alert rule',
  description: 'Its alerts stop; their history (GET /api/alerts) stays.',
  ...withRole('operator'),
  request: { params: UuidParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No alert rule ${id}`);
}

/** What the audit log keeps of a rule: all of it (nothing in a rule is secret). */
function audited(row: AlertRuleRow) {
  const { createdAt, updatedAt, createdBy, updatedBy, createdByName, updatedByName, ...rest } = row;
  return rest;
}

export const alertRulesRouter = createRouter()
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
    const rows = await listAlertRules(c.get('services').db, { after, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor([last.name]) : null;
    return c.json({ rules: page.map(alertRuleBody), nextCursor }, 200);
  })
  .openapi(createRuleRoute, async (c) => {
    const body = c.req.valid('json');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      await checkChannelIds(tx, body.channelIds);
      const created = await insertAlertRule(tx, body, c.get('actor'));
      await recordAudit(
        c,
        {
          action: 'alert_rules.create',
          targetType: 'alert_rule',
          targetId: created.id,
          result: 'ok',
          details: audited(created),
        },
        { db: tx },
      );
      return created;
    });
    return c.json(alertRuleBody(row), 201);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getAlertRule(c.get('services').db, id);
    if (!row) throw notFound(id);
    return c.json(alertRuleBody(row), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const before = await getAlertRule(tx, id, { lock: true });
      if (!before) throw notFound(id);
      const merged: Record<string, unknown> = {
        name: before.name,
        kind: before.kind,
        scope: before.scope,
        params: before.params,
        forEvaluations: before.forEvaluations,
        renotifyMinutes: before.renotifyMinutes,
        channelIds: before.channelIds,
        enabled: before.enabled,
      };
      for (const [key, value] of Object.entries(patch)) if (value !== undefined) merged[key] = value;
      const parsed = CreateAlertRuleBodySchema.safeParse(merged);
      if (!parsed.success) throw validationError('json', parsed.error);
      await checkChannelIds(tx, parsed.data.channelIds);
      const updated = await updateAlertRule(tx, id, parsed.data, c.get('actor'));
      if (!updated) throw notFound(id);
      const changes: Record<string, unknown> = {};
      const after = audited(updated) as Record<string, unknown>;
      const previous = audited(before) as Record<string, unknown>;
      for (const key of Object.keys(after)) {
        if (key !== 'version' && JSON.stringify(previous[key]) !== JSON.stringify(after[key])) {
          changes[key] = { from: previous[key], to: after[key] };
        }
      }
      await recordAudit(
        c,
        {
          action: 'alert_rules.update',
          targetType: 'alert_rule',
          targetId: id,
          result: 'ok',
          details: { name: updated.name, version: updated.version, changes },
        },
        { db: tx },
      );
      return updated;
    });
    return c.json(alertRuleBody(row), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    await c.get('services').transactional.transaction(async (tx) => {
      const deleted = await deleteAlertRule(tx, id);
      if (!deleted) throw notFound(id);
      await recordAudit(
        c,
        {
          action: 'alert_rules.delete',
          targetType: 'alert_rule',
          targetId: id,
          result: 'ok',
          details: audited(deleted),
        },
        { db: tx },
      );
    });
    return c.body(null, 204);
  });
