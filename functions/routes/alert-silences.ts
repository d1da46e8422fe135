import { createRoute } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { alertRules, alertSilences } from '../../drizzle/schema';
import { createRouter } from '../app';
import { recordAudit } from '../audit';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import { listSilences, silenceBody } from '../queries/alert-history';
import {
  CreateSilenceBodySchema,
  SilenceListSchema,
  SilenceSchema,
  SilencesQuerySchema,
} from '../schemas/alert-history';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';

/**
 * Silences: for a while, alerts of a rule (or of every rule, for subjects in a scope) still change
 * state and are recorded, but send nothing. Viewers read; operators and admins silence.
 */

const TAGS = ['alerts'];
const MAX_DAYS = 90;

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: TAGS,
  summary: 'Silences not yet ended (all=true: ended ones too)',
  ...withRole('viewer'),
  request: { query: SilencesQuerySchema },
  responses: {
    200: jsonResponse(SilenceListSchema, 'Silences, latest end first'),
    ...errorResponses(400, 401, 403),
  },
});

const createSilenceRoute = createRoute({
  method: 'post',
  path: '/',
  tags: TAGS,
  summary: 'Silence a rule, or a scope, until a time',
  description:
    'A scope silence covers every alert whose subject falls in the scope: a connection covers that connection and its queues, a host label the hosts with it and the connections they check, `all` everything.',
  ...withRole('operator'),
  request: { body: jsonBody(CreateSilenceBodySchema) },
  responses: { 201: jsonResponse(SilenceSchema, 'Created'), ...errorResponses(400, 401, 403, 413, 415) },
});

const endRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: TAGS,
  summary: 'End a silence now',
  description: 'The silence is kept (ended now) so the history still says why events were not sent.',
  ...withRole('operator'),
  request: { params: UuidParams },
  responses: {
    200: jsonResponse(SilenceSchema, 'The silence, ended'),
    ...errorResponses(400, 401, 403, 404),
  },
});

function badTime(field: string, why: string): HttpError {
  return new HttpError(400, 'bad_request', `Invalid request body: ${field}: ${why}`, [
    { location: 'json', path: [field], code: 'custom', message: why },
  ]);
}

export const alertSilencesRouter = createRouter()
  .openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const rows = await listSilences(c.get('services').db, { all: query.all === 'true', limit: query.limit });
    return c.json({ silences: rows.map((row) => silenceBody(row)) }, 200);
  })
  .openapi(createSilenceRoute, async (c) => {
    const body = c.req.valid('json');
    const now = Date.now();
    const startsAt = body.startsAt === undefined ? new Date(now) : new Date(body.startsAt);
    const endsAt = new Date(body.endsAt);
    if (endsAt.getTime() <= now) throw badTime('endsAt', 'must be in the future');
    if (endsAt.getTime() <= startsAt.getTime()) throw badTime('endsAt', 'must be after startsAt');
    if (endsAt.getTime() > now + MAX_DAYS * 86_400_000)
      throw badTime('endsAt', `must be at most ${MAX_DAYS} days ahead`);
    const actor = c.get('actor');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      if (body.ruleId !== undefined) {
        const [rule] = await tx
          .select({ id: alertRules.id })
          .from(alertRules)
          .where(eq(alertRules.id, body.ruleId));
        if (!rule) throw badTime('ruleId', `no alert rule ${body.ruleId}`);
      }
      const [created] = await tx
        .insert(alertSilences)
        .values({
          ruleId: body.ruleId ?? null,
          scope: body.scope ?? null,
          startsAt,
          endsAt,
          reason: body.reason,
          createdBy: `${actor.kind}:${actor.id}`,
          createdByName: actor.name,
        })
        .returning();
      if (!created) throw new Error('inserting the silence returned no row');
      await recordAudit(
        c,
        {
          action: 'alert_silences.create',
          targetType: 'alert_silence',
          targetId: created.id,
          result: 'ok',
          details: { ruleId: created.ruleId, scope: created.scope, startsAt, endsAt, reason: created.reason },
        },
        { db: tx },
      );
      return created;
    });
    return c.json(silenceBody(row), 201);
  })
  .openapi(endRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const [ended] = await tx
        .update(alertSilences)
        .set({ endsAt: sql`least(${alertSilences.endsAt}, now())` })
        .where(eq(alertSilences.id, id))
        .returning();
      if (!ended) throw new HttpError(404, 'not_found', `No alert silence ${id}`);
      await recordAudit(
        c,
        {
          action: 'alert_silences.end',
          targetType: 'alert_silence',
          targetId: id,
          result: 'ok',
          details: { endsAt: ended.endsAt },
        },
        { db: tx },
      );
      return ended;
    });
    return c.json(silenceBody(row), 200);
  });
