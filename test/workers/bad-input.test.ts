import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import {
  type AlertTargets,
  alertFuzzRoutes,
  alertWatches,
  createAlertTargets,
  removeAlertTargets,
} from './support/alert-fuzz';
import {
  adminHeaders,
  bearer,
  type CreatedToken,
  call,
  createToken,
  createUser,
  errorOf,
  unique,
  uniqueEmail,
} from './support/api';
import { openTestDatabase } from './support/database';
import { BAD_DATE_VALUES, type FuzzRoute, fuzzRoutes } from './support/fuzz';
import { type Fleet, job, Seed, type SeededJob, seedFleet } from './support/seed';

let database: NeonDatabaseHandle;

beforeAll(() => {
  database = openTestDatabase();
});

afterAll(async () => {
  await database.close();
});

describe('bad input', () => {
  const valid = () => ({ name: unique('bad-input'), role: 'viewer' });

  it('a body over 256 KiB answers 413 payload_too_large, with or without a Content-Length', async () => {
    const big = JSON.stringify({ ...valid(), padding: 'x'.repeat(300 * 1024) });
    const sized = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: big,
    });
    expect(sized.status).toBe(413);
    expect(await errorOf(sized)).toEqual({
      code: 'payload_too_large',
      message: 'Request body is over 262144 bytes',
    });

    // A streamed body has no Content-Length: the limit counts as it reads.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 16 * 1024)
          controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
        controller.close();
      },
    });
    const streamed = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: stream,
    });
    expect(streamed.status).toBe(413);
    expect((await errorOf(streamed)).code).toBe('payload_too_large');
  });

  it('malformed JSON answers 400 bad_request', async () => {
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'application/json' },
      body: '{"name": "x", "role": ',
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      code: 'bad_request',
      message: 'Malformed JSON in request body',
    });
  });

  it('a body that is not JSON answers 415 unsupported_media_type', async () => {
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: { ...adminHeaders(), 'content-type': 'text/plain' },
      body: JSON.stringify(valid()),
    });
    expect(response.status).toBe(415);
    expect((await errorOf(response)).code).toBe('unsupported_media_type');
  });

  it('a missing body answers 400 naming the missing fields', async () => {
    const response = await call('/api/tokens', { method: 'POST', headers: adminHeaders() });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('bad_request');
    expect(error.details).toEqual([
      expect.objectContaining({ location: 'json', path: ['name'] }),
      expect.objectContaining({ location: 'json', path: ['role'] }),
    ]);
  });

  it('a validation error says where and what, without echoing the value', async () => {
    const secret = 'do-not-echo-this-value';
    const response = await call('/api/tokens', {
      method: 'POST',
      headers: adminHeaders(),
      json: { name: `bell\u0007${secret}`, role: secret, extra: secret },
    });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.message).toMatch(/^Invalid request body: /);
    expect(error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          location: 'json',
          path: ['name'],
          message: 'must not contain control characters',
        }),
        expect.objectContaining({ location: 'json', path: ['role'], code: 'invalid_value' }),
        expect.objectContaining({ location: 'json', code: 'unrecognized_keys' }),
      ]),
    );
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('unknown routes answer 404 in the error shape once authenticated', async () => {
    const response = await call('/api/nope', { method: 'POST', headers: adminHeaders() });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: 'not_found', message: 'No route for POST /api/nope' });
  });
});

describe('the fuzzer on every route of the OpenAPI document', () => {
  let seed: Seed;
  let fleet: Fleet;
  let runToken: CreatedToken;
  let targetUser: { id: string };
  let targetToken: CreatedToken;
  let targetConfig: { id: string };
  let targetConnection: { id: string; name: string };
  let failedJob: SeededJob;
  let commandId: string;
  const commandIds: string[] = [];
  let alertTargets: AlertTargets;

  beforeAll(async () => {
    seed = new Seed(database.db);
    fleet = await seedFleet(seed, 'fuzz');
    const seeded = await seed.jobs([
      job(fleet.queue, 'fuzz-failed-1', {
        connection: fleet.connection,
        status: 'failed',
        completedAt: new Date(),
        exception: 'Error: timeout',
      }),
    ]);
    failedJob = seeded[0]!;
    const bus = new DatabaseCommandBus(database.db);
    commandId = (
      await bus.send({ target: { kind: 'host', id: fleet.hostId }, type: 'host.reload', ttl: 3600 })
    ).id;
    commandIds.push(commandId);
    // Its own admin token: every command it sends and every audit entry it causes names it.
    [runToken, targetUser, targetToken] = await Promise.all([
      createToken('admin'),
      createUser('viewer'),
      createToken('viewer'),
    ]);
    const connection = await call('/api/connections', {
      method: 'POST',
      headers: adminHeaders(),
      json: {
        kind: 'redis',
        name: unique('fuzz-target'),
        host: 'redis.internal',
        password: 'target password',
      },
    });
    expect(connection.status).toBe(201);
    targetConnection = await connection.json<{ id: string; name: string }>();
    const config = await call('/api/supervisors/configs', {
      method: 'POST',
      headers: adminHeaders(),
      json: {
        name: unique('fuzz-target-supervisor'),
        connection: targetConnection.name,
        queues: ['emails'],
        processors: { '*': 'emails.mjs' },
      },
    });
    expect(config.status).toBe(201);
    targetConfig = await config.json<{ id: string }>();
    alertTargets = await createAlertTargets();
  });

  afterAll(async () => {
    await database.db.execute(sql`delete from watchtower_supervisor_configs where id = ${targetConfig.id}`);
    await database.db.execute(sql`delete from watchtower_connections where id = ${targetConnection.id}`);
    await seed.cleanup();
    await database.db.execute(sql`delete from watchtower_commands where id in ${commandIds}`);
    await removeAlertTargets(database.db, alertTargets);
  });

  /** Every operation of GET /api/openapi.json, as `METHOD /api/path/{param}`. */
  async function documentedOperations(): Promise<string[]> {
    const response = await call('/api/openapi.json', { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const document = await response.json<{ paths: Record<string, Record<string, unknown>> }>();
    return Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  function routes(): FuzzRoute[] {
    const f = fleet;
    const send = { wait: '0', ttl: '60' };
    const sendBad = { wait: ['26', '-0', '0.0'], ttl: ['0', '3601'] };
    const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
    const cursor = btoa(JSON.stringify(['2026-01-01T00:00:00.000000Z', 1])).replace(/=+$/, '');
    const command = (
      operation: string,
      path: string,
      template: string,
      extra: Partial<FuzzRoute> = {},
    ): FuzzRoute => ({
      operation,
      method: 'POST',
      path,
      idTemplate: template,
      idKind: 'text',
      query: send,
      badQuery: sendBad,
      ...extra,
    });
    const withPath = (template: string, id: string) => template.replace('{id}', encodeURIComponent(id));
    const list: FuzzRoute[] = [
      { method: 'GET', path: '/api/health' },
      { method: 'GET', path: '/api/openapi.json' },
      { method: 'GET', path: '/api/auth/me' },
      { method: 'POST', path: '/api/auth/logout' },
      {
        method: 'POST',
        path: '/api/auth/login',
        body: { email: uniqueEmail('fuzz-login'), password: 'a wrong password' },
        freeText: ['password'],
      },
      // Users, tokens and the audit log.
      {
        method: 'POST',
        path: '/api/users',
        body: {
          email: uniqueEmail('fuzz-new'),
          name: 'Fuzz',
          role: 'viewer',
          password: 'long enough password',
        },
        freeText: ['name', 'password'],
      },
      {
        operation: 'PATCH /api/users/{id}',
        method: 'PATCH',
        path: `/api/users/${targetUser.id}`,
        body: { name: 'Renamed', role: 'operator', disabled: true, password: 'another long password' },
        freeText: ['name', 'password'],
        idTemplate: '/api/users/{id}',
      },
      { method: 'GET', path: '/api/users', query: { limit: '10', cursor: 'WyJhQGV4YW1wbGUudGVzdCJd' } },
      {
        operation: 'GET /api/users/{id}',
        method: 'GET',
        path: `/api/users/${targetUser.id}`,
        idTemplate: '/api/users/{id}',
      },
      {
        operation: 'DELETE /api/users/{id}',
        method: 'DELETE',
        path: `/api/users/${targetUser.id}`,
        idTemplate: '/api/users/{id}',
      },
      {
        method: 'POST',
        path: '/api/tokens',
        body: { name: unique('fuzz-token'), role: 'viewer', expiresAt: iso(86_400_000) },
        freeText: ['name'],
      },
      { method: 'GET', path: '/api/tokens', query: { limit: '10', includeRevoked: 'true' } },
      {
        operation: 'GET /api/tokens/{id}',
        method: 'GET',
        path: `/api/tokens/${targetToken.id}`,
        idTemplate: '/api/tokens/{id}',
      },
      {
        operation: 'DELETE /api/tokens/{id}',
        method: 'DELETE',
        path: `/api/tokens/${targetToken.id}`,
        idTemplate: '/api/tokens/{id}',
      },
      // Connections: names, hosts and secrets are free text to the fuzzer (a hostile-looking
      // string without spaces is a valid name or host, which would be stored).
      {
        method: 'POST',
        path: '/api/connections',
        body: {
          kind: 'redis',
          name: unique('fuzz-conn'),
          host: 'redis.internal',
          port: 6379,
          db: 0,
          tls: false,
          username: 'app',
          password: 'a password',
        },
        freeText: ['name', 'host', 'username', 'password'],
        badBodies: [
          {
            label: 'a cluster without nodes',
            body: { kind: 'redis-cluster', name: unique('fuzz-conn'), nodes: [] },
          },
          {
            label: 'a node with a bad port',
            body: { kind: 'redis-cluster', name: unique('fuzz-conn'), nodes: [{ host: 'a', port: 0 }] },
          },
          {
            label: 'postgres with a redis URL',
            body: { kind: 'postgres', name: unique('fuzz-conn'), url: 'redis://h' },
          },
          {
            label: 'postgres with a password',
            body: { kind: 'postgres', name: unique('fuzz-conn'), url: 'postgres://h/db', password: 'p' },
          },
        ],
      },
      { method: 'GET', path: '/api/connections', query: { limit: '10', cursor: 'WyJhIl0' } },
      {
        operation: 'GET /api/connections/{id}',
        method: 'GET',
        path: `/api/connections/${targetConnection.id}`,
        idTemplate: '/api/connections/{id}',
      },
      {
        operation: 'PATCH /api/connections/{id}',
        method: 'PATCH',
        path: `/api/connections/${targetConnection.id}`,
        body: { name: unique('fuzz-renamed'), host: 'other.internal', port: 6380, password: 'new password' },
        freeText: ['name', 'host', 'password'],
        nullable: ['password'],
        idTemplate: '/api/connections/{id}',
        badBodies: [
          { label: 'a field of another kind', body: { nodes: [{ host: 'a', port: 1 }] } },
          { label: 'a URL for a redis connection', body: { url: 'postgres://h/db' } },
          { label: 'clearing the host', body: { host: null } },
        ],
      },
      {
        operation: 'DELETE /api/connections/{id}',
        method: 'DELETE',
        path: `/api/connections/${targetConnection.id}`,
        idTemplate: '/api/connections/{id}',
      },
      ...(['test', 'discover'] as const).map((verb) => ({
        operation: `POST /api/connections/{id}/${verb}`,
        method: 'POST' as const,
        path: `/api/connections/${targetConnection.id}/${verb}`,
        body: { hostId: fleet.hostId },
        freeText: ['hostId'],
        emptyBodyValid: true,
        query: { wait: '0' },
        idTemplate: `/api/connections/{id}/${verb}`,
      })),
      // Supervisor configurations: names and processor paths are free text to the fuzzer (a
      // hostile-looking string without spaces is a valid name, which would be stored).
      {
        method: 'POST',
        path: '/api/supervisors/configs',
        body: {
          name: unique('fuzz-supervisor'),
          connection: targetConnection.name,
          queues: ['emails'],
          minProcesses: 1,
          maxProcesses: 2,
          concurrency: 2,
          processors: { emails: 'emails.mjs' },
          labels: ['web'],
        },
        freeText: ['name'],
        badBodies: [
          {
            label: 'an absolute processor',
            body: {
              name: unique('fuzz-supervisor'),
              connection: targetConnection.name,
              queues: ['q'],
              processors: { q: '/etc/x.mjs' },
            },
          },
          {
            label: 'a processor out of the directory',
            body: {
              name: unique('fuzz-supervisor'),
              connection: targetConnection.name,
              queues: ['q'],
              processors: { q: '../x.mjs' },
            },
          },
          {
            label: 'an unknown connection',
            body: {
              name: unique('fuzz-supervisor'),
              connection: unique('fuzz-missing'),
              queues: ['q'],
              processors: { q: 'x.mjs' },
            },
          },
          {
            label: 'a queue without processor',
            body: {
              name: unique('fuzz-supervisor'),
              connection: targetConnection.name,
              queues: ['q', 'r'],
              processors: { q: 'x.mjs' },
            },
          },
        ],
      },
      { method: 'GET', path: '/api/supervisors/configs', query: { limit: '10', cursor: 'WyJhIl0' } },
      {
        operation: 'GET /api/supervisors/configs/{id}',
        method: 'GET',
        path: `/api/supervisors/configs/${targetConfig.id}`,
        idTemplate: '/api/supervisors/configs/{id}',
      },
      {
        operation: 'PATCH /api/supervisors/configs/{id}',
        method: 'PATCH',
        path: `/api/supervisors/configs/${targetConfig.id}`,
        body: { name: unique('fuzz-supervisor-renamed'), maxProcesses: 3, labels: ['eu'] },
        freeText: ['name'],
        idTemplate: '/api/supervisors/configs/{id}',
        badBodies: [
          { label: 'a processor out of the directory', body: { processors: { emails: '../../x.mjs' } } },
          { label: 'fewer processes than the floor', body: { minProcesses: 2, maxProcesses: 1 } },
          { label: 'an unknown connection', body: { connection: unique('fuzz-missing') } },
        ],
      },
      {
        operation: 'DELETE /api/supervisors/configs/{id}',
        method: 'DELETE',
        path: `/api/supervisors/configs/${targetConfig.id}`,
        idTemplate: '/api/supervisors/configs/{id}',
      },
      // Configuration export and import. The import's fuzz cases run as a dry run (the query every
      // case keeps), and its valid body is empty: no case of it could write, even one let through.
      { method: 'GET', path: '/api/config/export', query: { secrets: 'encrypted' } },
      {
        method: 'POST',
        path: '/api/config/import',
        query: { dryRun: 'true', prune: 'false' },
        body: {
          format: 'watchtower-config',
          version: 1,
          exportedAt: '2026-01-01T00:00:00Z',
          connections: [],
          supervisors: [],
        },
        badBodies: [
          {
            label: 'a connection with a NUL in its name',
            body: {
              format: 'watchtower-config',
              version: 1,
              connections: [{ kind: 'redis', name: 'fuzz-conn-\u0000', host: 'h' }],
              supervisors: [],
            },
          },
          {
            label: 'a supervisor on an unknown connection with an absolute processor',
            body: {
              format: 'watchtower-config',
              version: 1,
              connections: [],
              supervisors: [
                {
                  name: unique('fuzz-supervisor'),
                  connection: unique('fuzz-missing'),
                  queues: ['q'],
                  processors: { q: '/etc/x.mjs' },
                },
              ],
            },
          },
          {
            label: 'a password in clear',
            body: {
              format: 'watchtower-config',
              version: 1,
              connections: [{ kind: 'redis', name: unique('fuzz-conn'), host: 'h', password: 'p' }],
              supervisors: [],
            },
          },
          {
            label: 'two connections of one name',
            body: {
              format: 'watchtower-config',
              version: 1,
              connections: [
                { kind: 'redis', name: 'fuzz-conn-twice', host: 'h' },
                { kind: 'redis', name: 'fuzz-conn-twice', host: 'h' },
              ],
              supervisors: [],
            },
          },
        ],
      },
      {
        method: 'GET',
        path: '/api/audit',
        query: {
          actorKind: 'token',
          actorId: 'someone',
          action: 'users.create',
          targetType: 'user',
          targetId: 'someone',
          result: 'ok',
          from: '2026-01-01T00:00:00Z',
          to: '2026-12-31T00:00:00Z',
          cursor: '1000',
          limit: '10',
        },
        freeTextQuery: ['actorId', 'targetId'],
        badQuery: { limit: ['0', '501'] },
      },
      {
        method: 'GET',
        path: '/api/recorder/dead-letters',
        query: { host: 'some-host', connection: 'default', queue: 'emails', cursor: '1000', limit: '10' },
        // Filters: any host id, connection or queue name is a valid one to look for.
        freeTextQuery: ['host', 'connection', 'queue'],
        badQuery: { limit: ['0', '501'], cursor: ['0', '-1', 'abc'] },
      },
      // Reading jobs, workers, hosts, supervisors, queues, metrics and commands.
      { method: 'GET', path: '/api/poll' },
      { method: 'GET', path: '/api/supervisors' },
      { method: 'GET', path: '/api/queues' },
      { method: 'GET', path: '/api/metrics' },
      {
        method: 'GET',
        path: '/api/health/connections',
        query: { range: '24h' },
        badQuery: { range: ['1d', '', '7D'] },
      },
      {
        method: 'GET',
        path: '/api/metrics/series',
        query: { range: '24h', connection: f.connection, queue: f.queue },
        freeTextQuery: ['connection', 'queue'],
        badQuery: { range: ['1d', '', '7D'] },
      },
      {
        method: 'GET',
        path: '/api/jobs',
        query: {
          status: 'failed',
          queue: f.queue,
          connection: f.connection,
          name: 'test-job',
          from: '2026-01-01T00:00:00Z',
          to: '2026-12-31T00:00:00Z',
          q: 'timeout',
          cursor,
          sort: 'newest',
          limit: '10',
        },
        freeTextQuery: ['queue', 'connection', 'name', 'q'],
        badQuery: { limit: ['0', '201'], q: ['ab'] },
      },
      {
        operation: 'GET /api/jobs/{id}',
        method: 'GET',
        path: `/api/jobs/${failedJob.id}`,
        idTemplate: '/api/jobs/{id}',
        idKind: 'number',
      },
      ...[
        `/api/jobs/{id}/${encodeURIComponent(f.queue)}/fuzz-failed-1`,
        `/api/jobs/${encodeURIComponent(f.connection)}/{id}/fuzz-failed-1`,
        `/api/jobs/${encodeURIComponent(f.connection)}/${encodeURIComponent(f.queue)}/{id}`,
      ].map(
        (template): FuzzRoute => ({
          operation: 'GET /api/jobs/{connection}/{queue}/{jobId}',
          method: 'GET',
          path: withPath(template, template.startsWith('/api/jobs/{id}') ? f.connection : f.queue),
          idTemplate: template,
          idKind: 'text',
        }),
      ),
      {
        method: 'GET',
        path: '/api/failed',
        query: {
          connection: f.connection,
          queue: f.queue,
          name: 'test-job',
          search: 'timeout',
          failedAfter: '2026-01-01T00:00:00Z',
          failedBefore: '2026-12-31T00:00:00Z',
          cursor,
          sort: 'oldest',
          limit: '10',
        },
        freeTextQuery: ['connection', 'queue', 'name', 'search'],
        badQuery: { limit: ['0', '201'], search: ['ab'] },
      },
      {
        method: 'GET',
        path: '/api/failed/count',
        query: {
          connection: f.connection,
          queue: f.queue,
          name: 'test-job',
          search: 'timeout',
          failedAfter: '2026-01-01T00:00:00Z',
          failedBefore: '2026-12-31T00:00:00Z',
        },
        freeTextQuery: ['connection', 'queue', 'name', 'search'],
        badQuery: { search: ['ab'], failedAfter: ['0000-01-01T00:00:00Z'] },
      },
      {
        method: 'GET',
        path: '/api/workers',
        query: { status: 'running', host: f.hostId, supervisor: f.supervisor, queue: f.queue, limit: '10' },
        freeTextQuery: ['host', 'supervisor', 'queue'],
        badQuery: { limit: ['0', '100000'] },
      },
      {
        method: 'GET',
        path: '/api/hosts',
        query: { status: 'running', limit: '10' },
        badQuery: { limit: ['0', '100000'] },
      },
      {
        operation: 'GET /api/commands/{id}',
        method: 'GET',
        path: `/api/commands/${commandId}`,
        idTemplate: '/api/commands/{id}',
        idKind: 'uuid',
      },
      {
        operation: 'GET /api/commands/{id}/wait',
        method: 'GET',
        path: `/api/commands/${commandId}/wait`,
        idTemplate: '/api/commands/{id}/wait',
        idKind: 'uuid',
        query: { timeout: '0' },
        badQuery: { timeout: ['26', '-0'] },
      },
      // Everything that sends a command: a bad input must be refused before anything is sent.
      command('POST /api/failed/{id}/retry', `/api/failed/${failedJob.id}/retry`, '/api/failed/{id}/retry', {
        idKind: 'number',
      }),
      command('DELETE /api/failed/{id}', `/api/failed/${failedJob.id}`, '/api/failed/{id}', {
        method: 'DELETE',
        idKind: 'number',
      }),
      ...(['retry', 'delete'] as const).map(
        (verb): FuzzRoute => ({
          method: 'POST',
          path: `/api/failed/${verb}`,
          query: send,
          badQuery: sendBad,
          body: { filter: { connection: f.connection, queue: f.queue }, limit: 10 },
          badBodies: [
            {
              label: 'filter with an unknown key',
              body: { filter: { queue: f.queue, status: 'completed' } },
            },
            { label: 'filter.search too short', body: { filter: { search: 'ab' } } },
            { label: 'filter.queue empty', body: { filter: { queue: '' } } },
            { label: 'filter.queue with NUL', body: { filter: { queue: 'a\u0000b' } } },
            { label: 'filter.queue a number', body: { filter: { queue: 5 } } },
            ...BAD_DATE_VALUES.map((date) => ({
              label: `filter.failedAfter ${date}`,
              body: { filter: { queue: f.queue, failedAfter: date } },
            })),
            { label: 'limit 0', body: { filter: {}, limit: 0 } },
            { label: 'limit over 1,000,000', body: { filter: {}, limit: 1_000_001 } },
          ],
        }),
      ),
      {
        method: 'POST',
        path: '/api/workers',
        query: send,
        badQuery: sendBad,
        body: { queue: f.queue, supervisor: f.supervisor, host: f.hostId },
        freeText: ['queue', 'supervisor'],
      },
      ...(['stop', 'pause', 'resume', 'restart'] as const).map((verb) =>
        command(
          `POST /api/workers/{id}/${verb}`,
          `/api/workers/${f.running}/${verb}`,
          `/api/workers/{id}/${verb}`,
        ),
      ),
      command(
        'POST /api/hosts/{id}/terminate',
        `/api/hosts/${f.hostId}/terminate`,
        '/api/hosts/{id}/terminate',
        {
          body: { graceSeconds: 30 },
          emptyBodyValid: true,
        },
      ),
      ...(['reload', 'restart'] as const).map((verb) =>
        command(`POST /api/hosts/{id}/${verb}`, `/api/hosts/${f.hostId}/${verb}`, `/api/hosts/{id}/${verb}`),
      ),
      command(
        'POST /api/supervisors/{name}/scale',
        `/api/supervisors/${f.supervisor}/scale`,
        '/api/supervisors/{id}/scale',
        { body: { processes: 2, queue: f.queue }, freeText: ['queue'] },
      ),
      ...(['pause', 'continue', 'terminate'] as const).map((verb) =>
        command(
          `POST /api/supervisors/{name}/${verb}`,
          `/api/supervisors/${f.supervisor}/${verb}`,
          `/api/supervisors/{id}/${verb}`,
        ),
      ),
      ...(['pause', 'resume'] as const).map((verb) =>
        command(
          `POST /api/queues/{queue}/${verb}`,
          `/api/queues/${encodeURIComponent(f.queue)}/${verb}`,
          `/api/queues/{id}/${verb}`,
          { body: { connection: f.connection }, emptyBodyValid: true },
        ),
      ),
      ...alertFuzzRoutes(alertTargets),
    ];
    return list;
  }

  it('covers every documented operation, answers every bad input with a 4xx in the error shape, and changes nothing', async () => {
    const documented = await documentedOperations();
    const list = routes();
    const fuzzed = new Set(list.map((route) => route.operation ?? `${route.method} ${route.path}`));
    // A new route without fuzz cases fails here; so does a fuzz entry for a route that is gone.
    expect(documented.filter((operation) => !fuzzed.has(operation)).sort()).toEqual([]);
    expect([...fuzzed].filter((operation) => !documented.includes(operation)).sort()).toEqual([]);

    await seed.heartbeat();
    const tables = rowsOf<{ name: string }>(
      await database.db.execute(
        sql`select table_name as name from information_schema.tables
            where table_schema = 'public' and table_name like 'watchtower%' order by 1`,
      ),
    ).map((row) => row.name);
    const f = fleet;
    const fleetTargets = [f.hostId, f.supervisor, f.connection, f.running, f.paused, f.dead];
    const report = await fuzzRoutes({
      headers: bearer(runToken.token),
      actorId: runToken.id,
      db: database.db,
      tables,
      watch: [
        // Not status or heartbeat columns: a cron run or another suite's host may sweep the
        // fleet dead meanwhile, which is no change made by a bad input.
        {
          label: 'the fleet host',
          query: sql`select host_id, hostname, pid, version, connections, supervisors from watchtower_hosts where host_id = ${f.hostId}`,
        },
        {
          label: "the fleet's workers",
          query: sql`select worker_id, host_id, supervisor, connection, queue, pid from watchtower_workers where host_id = ${f.hostId} order by worker_id`,
        },
        {
          label: "the fleet's jobs",
          query: sql`select * from watchtower_jobs where queue = ${f.queue} order by id`,
        },
        {
          label: 'commands to the fleet',
          query: sql`select id, target_kind, target_id, type, args from watchtower_commands where target_id in ${fleetTargets} order by id`,
        },
        {
          label: 'commands sent by the run',
          query: sql`select id from watchtower_commands where created_by = ${`token:${runToken.id}`}`,
        },
        { label: 'the target user', query: sql`select * from watchtower_users where id = ${targetUser.id}` },
        {
          label: 'the target token',
          query: sql`select * from watchtower_api_tokens where id = ${targetToken.id}`,
        },
        {
          label: 'the target connection',
          query: sql`select * from watchtower_connections where id = ${targetConnection.id}`,
        },
        {
          label: 'the target supervisor configuration',
          query: sql`select * from watchtower_supervisor_configs where id = ${targetConfig.id}`,
        },
        {
          label: 'supervisor configurations made since the run started',
          query: sql`select count(*) from watchtower_supervisor_configs where name like 'fuzz-supervisor-%'`,
        },
        {
          label: 'connections made since the run started',
          query: sql`select count(*) from watchtower_connections where name like 'fuzz-conn-%' or name like 'fuzz-renamed-%'`,
        },
        {
          label: "the target user's sessions",
          query: sql`select * from watchtower_sessions where user_id = ${targetUser.id}`,
        },
        {
          label: 'users and tokens made since the run started',
          query: sql`select (select count(*) from watchtower_users where created_at > now() - interval '1 minute' and email like 'fuzz-%') as users,
                            (select count(*) from watchtower_api_tokens where name like 'fuzz-token-%') as tokens`,
        },
        ...alertWatches(alertTargets),
      ],
      routes: list,
    });
    const empty = Object.entries(report.casesByOperation).filter(([, n]) => n === 0);
    expect(empty).toEqual([]);
    expect(Object.keys(report.casesByOperation).sort()).toEqual([...new Set(documented)].sort());
    expect(Object.keys(report.byStatus).every((status) => Number(status) < 500)).toBe(true);
    console.log(
      `fuzz: ${documented.length} operations, ${report.requests} cases, by status ${JSON.stringify(report.byStatus)}`,
    );
    // How long refusing took is for the benchmarks to judge, not a timed assertion: shown only.
    console.log(`fuzz: slowest cases ${JSON.stringify(report.slowest)}`);
  }, 300_000);
});

describe('the fuzzer itself', () => {
  const route = { method: 'GET' as const, path: '/api/audit', query: { limit: '10' } };

  it('fails on a 5xx answer', async () => {
    await expect(
      fuzzRoutes({
        headers: adminHeaders(),
        db: database.db,
        tables: [],
        routes: [route],
        send: async () =>
          Response.json({ error: { code: 'internal_error', message: 'boom' } }, { status: 500 }),
      }),
    ).rejects.toThrow(/expected a 4xx, got 500/);
  });

  it('fails when a bad input changed the database', async () => {
    let wrote = false;
    await expect(
      fuzzRoutes({
        headers: adminHeaders(),
        db: database.db,
        tables: ['watchtower_audit_log'],
        routes: [route],
        // A route that wrongly audits a refused request: the row carries the run's client address.
        send: async (path, init) => {
          if (!wrote) {
            wrote = true;
            const ip = init.headers?.['cf-connecting-ip'] ?? '';
            await database.db.execute(
              sql`insert into watchtower_audit_log (actor_kind, actor_id, action, target_type, result, ip) values ('token', 'x', 'fuzz.selftest', 'none', 'error', ${ip})`,
            );
          }
          return call(path, init);
        },
      }),
    ).rejects.toThrow(/database changed: audit entries from the fuzz run/);
  });
});
