import { createRoute } from '@hono/zod-openapi';
import { sealChannelField } from '../alerts/channel-secrets';
import { sendTestNotification } from '../alerts/test-notification';
import { createRouter } from '../app';
import { recordAudit } from '../audit';
import { requireKeyRing } from '../encryption-keys';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import {
  type AlertChannelRow,
  deleteAlertChannel,
  getAlertChannel,
  getAlertChannelWithDelivery,
  insertAlertChannel,
  listAlertChannels,
  updateAlertChannel,
} from '../queries/alert-channels';
import {
  AlertChannelListSchema,
  AlertChannelSchema,
  alertChannelBody,
  CreateAlertChannelBodySchema,
  ListAlertChannelsQuerySchema,
  UpdateAlertChannelBodySchema,
} from '../schemas/alert-channels';
import { DeliverySchema, deliveryBody } from '../schemas/alert-history';
import { errorResponses, jsonBody, jsonResponse, UuidParams } from '../schemas/common';
import { decodeCursor, encodeCursor } from '../schemas/security';

/**
 * Where alert notifications go. Viewers read (never a URL or a secret: `hasUrl`, `hasSecret`);
 * admins change them and send test notifications. URLs and secrets are sealed with
 * WATCHTOWER_ENCRYPTION_KEY before they reach the database, as connection passwords are.
 */

const TAGS = ['alerts'];

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: TAGS,
  summary: 'List alert channels, by name (never their URLs or secrets)',
  description:
    'Each with `lastDelivery`, its newest row of the delivery log (null: none yet): a channel whose last delivery is `failed` is failing, however many deliveries of other channels came since.',
  ...withRole('viewer'),
  request: { query: ListAlertChannelsQuerySchema },
  responses: {
    200: jsonResponse(AlertChannelListSchema, 'A page of channels'),
    ...errorResponses(400, 401, 403),
  },
});

const createChannelRoute = createRoute({
  method: 'post',
  path: '/',
  tags: TAGS,
  summary: 'Create an alert channel',
  description:
    'The URL and the secret are sealed with AES-256-GCM under WATCHTOWER_ENCRYPTION_KEY before they are stored; without that key a slack or webhook channel is refused with 500 `misconfigured`.',
  ...withRole('admin'),
  request: { body: jsonBody(CreateAlertChannelBodySchema) },
  responses: {
    201: jsonResponse(AlertChannelSchema, 'Created'),
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: TAGS,
  summary: 'One alert channel (never its URL or secret)',
  ...withRole('viewer'),
  request: { params: UuidParams },
  responses: { 200: jsonResponse(AlertChannelSchema, 'The channel'), ...errorResponses(400, 401, 403, 404) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: TAGS,
  summary: 'Change an alert channel',
  description:
    "Only the fields given change, and only fields of the channel's kind are accepted (url: slack and webhook; secret: webhook; to: email). The kind cannot change.",
  ...withRole('admin'),
  request: { params: UuidParams, body: jsonBody(UpdateAlertChannelBodySchema) },
  responses: {
    200: jsonResponse(AlertChannelSchema, 'The channel as changed'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: TAGS,
  summary: 'Delete an alert channel',
  description: 'Rules that named it stop sending to it; its delivery log stays.',
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
});

const testRoute = createRoute({
  method: 'post',
  path: '/{id}/test',
  tags: TAGS,
  summary: 'Send a test notification now',
  description:
    "One attempt (at most 5 s), no retries; the answer is its delivery as logged (status `sent` or `failed`, with the receiver's HTTP status or the error).",
  ...withRole('admin'),
  request: { params: UuidParams },
  responses: { 200: jsonResponse(DeliverySchema, 'The delivery'), ...errorResponses(400, 401, 403, 404) },
});

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No alert channel ${id}`);
}

function refusedField(field: string, kind: string): HttpError {
  return new HttpError(
    400,
    'bad_request',
    `Invalid request body: ${field}: not accepted for a ${kind} channel`,
    [
      {
        location: 'json',
        path: [field],
        code: 'unrecognized_keys',
        message: `does not apply to a ${kind} channel`,
      },
    ],
  );
}

/** The audit log's view of a channel: never a URL or a secret, only whether one is set. */
function audited(row: AlertChannelRow) {
  return {
    name: row.name,
    kind: row.kind,
    to: row.emailTo,
    enabled: row.enabled,
    url: row.urlSealed !== null,
    secret: row.secretSealed !== null,
  };
}

const FIELDS_OF: Record<AlertChannelRow['kind'], readonly string[]> = {
  slack: ['url'],
  webhook: ['url', 'secret'],
  email: ['to'],
};

export const alertChannelsRouter = createRouter()
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
    const rows = await listAlertChannels(c.get('services').db, { after, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor([last.channel.name]) : null;
    return c.json(
      { channels: page.map((row) => alertChannelBody(row.channel, row.lastDelivery)), nextCursor },
      200,
    );
  })
  .openapi(createChannelRoute, async (c) => {
    const body = c.req.valid('json');
    // Chosen here: the secrets are sealed bound to the row's id, before the row exists.
    const id = crypto.randomUUID();
    let urlSealed: string | null = null;
    let secretSealed: string | null = null;
    if (body.kind !== 'email') {
      // Before any write: without the key a URL is refused, never stored in clear.
      const ring = await requireKeyRing(c.env);
      urlSealed = await sealChannelField(ring, id, 'url', body.url);
      if (body.kind === 'webhook') secretSealed = await sealChannelField(ring, id, 'secret', body.secret);
    }
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const created = await insertAlertChannel(
        tx,
        id,
        {
          name: body.name,
          kind: body.kind,
          urlSealed,
          secretSealed,
          emailTo: body.kind === 'email' ? body.to : null,
          enabled: body.enabled,
        },
        c.get('actor'),
      );
      await recordAudit(
        c,
        {
          action: 'alert_channels.create',
          targetType: 'alert_channel',
          targetId: id,
          result: 'ok',
          details: audited(created),
        },
        { db: tx },
      );
      return created;
    });
    // A new id: no delivery names it yet.
    return c.json(alertChannelBody(row, null), 201);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getAlertChannelWithDelivery(c.get('services').db, id);
    if (!row) throw notFound(id);
    return c.json(alertChannelBody(row.channel, row.lastDelivery), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const row = await c.get('services').transactional.transaction(async (tx) => {
      const before = await getAlertChannel(tx, id, { lock: true });
      if (!before) throw notFound(id);
      for (const field of ['url', 'secret', 'to'] as const) {
        if (patch[field] !== undefined && !FIELDS_OF[before.kind].includes(field))
          throw refusedField(field, before.kind);
      }
      // After the input is known good, before any write: a secret is never stored in clear.
      const ring = patch.url !== undefined || patch.secret !== undefined ? await requireKeyRing(c.env) : null;
      const urlSealed =
        patch.url !== undefined && ring
          ? await sealChannelField(ring, id, 'url', patch.url)
          : before.urlSealed;
      const secretSealed =
        patch.secret !== undefined && ring
          ? await sealChannelField(ring, id, 'secret', patch.secret)
          : before.secretSealed;
      const updated = await updateAlertChannel(
        tx,
        id,
        {
          name: patch.name ?? before.name,
          kind: before.kind,
          urlSealed,
          secretSealed,
          emailTo: patch.to ?? before.emailTo,
          enabled: patch.enabled ?? before.enabled,
        },
        c.get('actor'),
      );
      if (!updated) throw notFound(id);
      const changes: Record<string, unknown> = {};
      const from = audited(before);
      const to = audited(updated);
      for (const key of ['name', 'to', 'enabled'] as const) {
        if (JSON.stringify(from[key]) !== JSON.stringify(to[key]))
          changes[key] = { from: from[key], to: to[key] };
      }
      if (patch.url !== undefined) changes.url = 'replaced';
      if (patch.secret !== undefined) changes.secret = 'replaced';
      await recordAudit(
        c,
        {
          action: 'alert_channels.update',
          targetType: 'alert_channel',
          targetId: id,
          result: 'ok',
          details: { name: updated.name, kind: updated.kind, changes },
        },
        { db: tx },
      );
      return updated;
    });
    const withDelivery = await getAlertChannelWithDelivery(c.get('services').db, id);
    return c.json(alertChannelBody(row, withDelivery?.lastDelivery ?? null), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    await c.get('services').transactional.transaction(async (tx) => {
      const deleted = await deleteAlertChannel(tx, id);
      if (!deleted) throw notFound(id);
      await recordAudit(
        c,
        {
          action: 'alert_channels.delete',
          targetType: 'alert_channel',
          targetId: id,
          result: 'ok',
          details: audited(deleted),
        },
        { db: tx },
      );
    });
    return c.body(null, 204);
  })
  .openapi(testRoute, async (c) => {
    const { id } = c.req.valid('param');
    const db = c.get('services').db;
    const channel = await getAlertChannel(db, id);
    if (!channel) throw notFound(id);
    const delivery = await sendTestNotification(db, c.env, channel, c.get('actor').name);
    await recordAudit(c, {
      action: 'alert_channels.test',
      targetType: 'alert_channel',
      targetId: id,
      result: delivery.status === 'sent' ? 'ok' : 'error',
      details: {
        name: channel.name,
        kind: channel.kind,
        deliveryId: delivery.id,
        status: delivery.lastStatus,
        error: delivery.lastError,
      },
    });
    return c.json(deliveryBody(delivery), 200);
  });
