import { createRoute } from '@hono/zod-openapi';
import { createRouter } from '../app';
import { listAudit } from '../audit';
import { withRole } from '../middleware/require-role';
import { errorResponses, jsonResponse } from '../schemas/common';
import { AuditListSchema, AuditQuerySchema, auditEntryBody } from '../schemas/security';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['audit'],
  summary: 'The audit log, newest first',
  description:
    'Every change made through the API: who, what, which target, when, with what result. Filter by actor, ' +
    "action, target, result and time; page with `cursor` (the previous page's `nextCursor`).",
  ...withRole('viewer'),
  request: { query: AuditQuerySchema },
  responses: { 200: jsonResponse(AuditListSchema, 'A page of entries'), ...errorResponses(400, 401, 403) },
});

export const audit = createRouter().openapi(listRoute, async (c) => {
  const query = c.req.valid('query');
  const { entries, nextCursor } = await listAudit(c.get('services').db, {
    actorKind: query.actorKind,
    actorId: query.actorId,
    actorName: query.actor,
    action: query.action,
    targetType: query.targetType,
    targetId: query.targetId,
    result: query.result,
    from: query.from === undefined ? undefined : new Date(query.from),
    to: query.to === undefined ? undefined : new Date(query.to),
    before: query.cursor === undefined ? undefined : Number(query.cursor),
    limit: query.limit,
  });
  return c.json(
    { entries: entries.map(auditEntryBody), nextCursor: nextCursor === null ? null : String(nextCursor) },
    200,
  );
});
