import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CommandType } from '../../core/commands/command-types';
import { createRouter } from '../app';
import { commandResponses, type SendQuery, SendQuerySchema } from '../commands/command-answer';
import { sendCommand } from '../commands/send-command';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { withRole } from '../middleware/require-role';
import { getConnection } from '../queries/connections';
import { findHost, isLiveHost, pickHostForConnection } from '../queries/hosts';
import { targetId } from '../queries/params';
import { UuidParams } from '../schemas/common';

/**
 * Testing a connection and discovering its queues: the Cloudflare Worker never reaches a queue
 * backend, so each is a command to one live host (`connection.test`, `connection.discover`), which
 * reads the connection's row, opens its secret with its own key and answers. These routes wait for
 * that answer (10 s unless `wait` says otherwise) and answer as every command route does.
 */

const DEFAULT_WAIT_SECONDS = 10;
/** Unclaimed by then, the command expires: a test that answers minutes later helps nobody. */
const DEFAULT_TTL_SECONDS = 60;

const BodySchema = z
  .strictObject({
    hostId: targetId('The host to carry it out (default: one chosen, see the description)').optional(),
  })
  .openapi('ConnectionCommandRequest');

const HOST_CHOICE =
  'Optional body `{ hostId }`. Otherwise a live host is chosen: one whose running supervisors use the connection, ' +
  'else one that has WATCHTOWER_ENCRYPTION_KEY, else any live host. 409 when no host is live. Waits for the answer ' +
  `(\`wait\`, default ${DEFAULT_WAIT_SECONDS} s): 200 with \`command.result\` once answered, 202 with \`timedOut: true\` while open.`;

function commandRoute<V extends 'test' | 'discover'>(verb: V) {
  return createRoute({
    method: 'post',
    path: `/{id}/${verb}` as `/{id}/${V}`,
    tags: ['connections'],
    summary:
      verb === 'test'
        ? 'Test a connection from a host (command connection.test)'
        : 'List the BullMQ queues of a Redis connection from a host (command connection.discover)',
    description:
      verb === 'test'
        ? `${HOST_CHOICE} The result: \`{ ok, latencyMs, serverVersion, usedMemoryBytes, maxmemoryPolicy, authenticated, error }\`; a connection that fails is \`ok: false\` with \`error\`, never its secret.`
        : `${HOST_CHOICE} The host SCANs \`<prefix>:*:meta\` (never KEYS), at most 20,000 keys or 1,000 queues. The result: \`{ queues, truncated, scannedKeys }\`.`,
    ...withRole('operator'),
    request: {
      params: UuidParams,
      query: SendQuerySchema,
      body: { required: false, content: { 'application/json': { schema: BodySchema } } },
    },
    responses: commandResponses(404, 413, 415),
  });
}

async function send(
  c: Context<AppEnv>,
  verb: 'test' | 'discover',
  id: string,
  hostId: string | undefined,
  query: SendQuery,
) {
  const { db } = c.get('services');
  const connection = await getConnection(db, id);
  if (!connection) throw new HttpError(404, 'not_found', `No connection ${id}`);
  let target: string;
  if (hostId !== undefined) {
    const host = await findHost(db, hostId);
    if (!host) throw new HttpError(404, 'not_found', `No host ${hostId}`);
    if (!isLiveHost(host.status)) {
      throw new HttpError(
        409,
        'conflict',
        `Host ${hostId} is ${host.status}: nothing would carry out the command`,
      );
    }
    target = hostId;
  } else {
    const picked = await pickHostForConnection(db, connection.name);
    if (picked === null) {
      throw new HttpError(
        409,
        'conflict',
        `No worker-host is live to ${verb === 'test' ? 'test' : 'discover the queues of'} connection ${connection.name}: start one (watchtower supervisor) and try again`,
      );
    }
    target = picked;
  }
  const type: CommandType = verb === 'test' ? 'connection.test' : 'connection.discover';
  return sendCommand(
    c,
    {
      target: { kind: 'host', id: target },
      type,
      args: { connectionId: id },
      audit: { action: `connections.${verb}`, targetType: 'connection', targetId: id },
    },
    { wait: query.wait ?? DEFAULT_WAIT_SECONDS, ttl: query.ttl ?? DEFAULT_TTL_SECONDS },
  );
}

export const connectionCommands = createRouter()
  .openapi(commandRoute('test'), (c) =>
    send(c, 'test', c.req.valid('param').id, c.req.valid('json').hostId, c.req.valid('query')),
  )
  .openapi(commandRoute('discover'), (c) =>
    send(c, 'discover', c.req.valid('param').id, c.req.valid('json').hostId, c.req.valid('query')),
  );
