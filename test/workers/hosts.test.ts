import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { CommandResponse } from '../../functions/commands/command-view';
import type { Host } from '../../functions/queries/hosts';
import type { Supervisor } from '../../functions/queries/supervisors';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { claimCommand, type Fleet, Seed, seedFleet } from './support/seed';

let database: NeonDatabaseHandle;
let seed: Seed;
let bus: CommandBus;
let fleet: Fleet;
const secondHost = unique('host-two');
const deadHost = unique('host-dead');

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  bus = new DatabaseCommandBus(database.db);
  fleet = await seedFleet(seed, 'hosts');
  // The same supervisor on a second host, with a second queue.
  await seed.host({
    hostId: secondHost,
    connections: [fleet.connection],
    supervisors: [
      {
        name: fleet.supervisor,
        connection: fleet.connection,
        queues: [fleet.queue, `${fleet.queue}-b`],
        status: 'paused',
        balance: 'simple',
        minProcesses: 1,
        maxProcesses: 2,
        processes: { [fleet.queue]: 1, [`${fleet.queue}-b`]: 1 },
      },
    ],
  });
  await seed.host({ hostId: deadHost, status: 'dead', lastHeartbeat: new Date(Date.now() - 3_600_000) });
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function post(path: string, json?: unknown): Promise<Response> {
  return call(path, { method: 'POST', headers: adminHeaders(), ...(json !== undefined && { json }) });
}

async function answerAll(target: { kind: 'host' | 'supervisor'; id: string }): Promise<void> {
  for (const command of await bus.claim({ claimer: 'test-host', targets: [target], limit: 100 })) {
    await bus.acknowledge(command.id, command.claimToken, { ok: true });
  }
}

describe('GET /api/hosts', () => {
  it('lists live hosts with their workers by status and hides dead ones unless asked', async () => {
    const response = await call('/api/hosts?limit=1000', { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const { hosts } = await response.json<{ hosts: Host[] }>();
    const host = hosts.find((candidate) => candidate.hostId === fleet.hostId);
    expect(host).toMatchObject({
      status: 'running',
      hostname: `${fleet.hostId}.test`,
      connections: [fleet.connection],
      workers: { running: 1, paused: 1, dead: 1 },
      pending: null,
    });
    expect(host?.heartbeatAgeSeconds).toBeLessThan(60);
    expect(hosts.some((candidate) => candidate.hostId === deadHost)).toBe(false);
    const dead = await call('/api/hosts?status=dead&limit=1000', { headers: adminHeaders() });
    expect(
      (await dead.json<{ hosts: Host[] }>()).hosts.some((candidate) => candidate.hostId === deadHost),
    ).toBe(true);
  });
});

describe('configuration reported by hosts', () => {
  const fileOnly = unique('host-file-only');
  const current = unique('host-current');
  const behind = unique('host-behind');
  const failing = unique('host-failing');
  const neverLoaded = unique('host-never-loaded');

  async function version(): Promise<number> {
    const rows = rowsOf<{ version: string | number }>(
      await database.db.execute(sql`select version from watchtower_config_version where id = 1`),
    );
    return Number(rows[0]?.version ?? 0);
  }

  async function listed(): Promise<Map<string, Host>> {
    const response = await call('/api/hosts?limit=1000', { headers: adminHeaders() });
    expect(response.status).toBe(200);
    return new Map((await response.json<{ hosts: Host[] }>()).hosts.map((host) => [host.hostId, host]));
  }

  beforeAll(async () => {
    const v = await version();
    await seed.host({ hostId: fileOnly });
    await seed.host({ hostId: current, labels: ['eu', 'web'], databaseConfig: true, configVersion: v });
    await seed.host({ hostId: behind, databaseConfig: true, configVersion: v + 1000 });
    await seed.host({
      hostId: failing,
      databaseConfig: true,
      configVersion: v,
      configError: 'supervisor emails not started: queue "emails" has no processor',
    });
    await seed.host({ hostId: neverLoaded, databaseConfig: true });
  });

  it('shows labels, the applied version and an error, and says which hosts drift', async () => {
    // Other tests may raise the version meanwhile: each try sets the current host to the version
    // read, and counts only if the version did not move while the list was read.
    for (let attempt = 0; ; attempt++) {
      const v = await version();
      await database.db.execute(
        sql`update watchtower_hosts set config_version = ${v} where host_id in (${current}, ${failing})`,
      );
      const hosts = await listed();
      if ((await version()) !== v && attempt < 10) continue;
      expect(hosts.get(fileOnly)).toMatchObject({
        labels: [],
        configVersion: null,
        configError: null,
        configDrift: false,
      });
      expect(hosts.get(current)).toMatchObject({
        labels: ['eu', 'web'],
        configVersion: v,
        configError: null,
        configDrift: false,
      });
      expect(hosts.get(behind)).toMatchObject({ configVersion: v + 1000, configDrift: true });
      expect(hosts.get(failing)).toMatchObject({
        configVersion: v,
        configError: 'supervisor emails not started: queue "emails" has no processor',
        configDrift: true,
      });
      expect(hosts.get(neverLoaded)).toMatchObject({ configVersion: null, configDrift: true });
      break;
    }
  });
});

describe('host commands', () => {
  it('terminates a host gracefully, with a grace period, and shows it pending', async () => {
    const response = await post(`/api/hosts/${fleet.hostId}/terminate`, { graceSeconds: 30 });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command).toMatchObject({
      type: 'host.terminate',
      target: { kind: 'host', id: fleet.hostId },
      args: { graceSeconds: 30 },
    });
    const list = await call('/api/hosts?limit=1000', { headers: adminHeaders() });
    const host = (await list.json<{ hosts: Host[] }>()).hosts.find(
      (candidate) => candidate.hostId === fleet.hostId,
    );
    expect(host?.pending).toMatchObject({ commandId: command.id, label: 'terminating' });
    await answerAll({ kind: 'host', id: fleet.hostId });
  });

  it('terminates without a body, reloads and restarts', async () => {
    const bare = await call(`/api/hosts/${fleet.hostId}/terminate`, {
      method: 'POST',
      headers: adminHeaders(),
    });
    expect((await bare.json<CommandResponse>()).command).toMatchObject({ type: 'host.terminate', args: {} });
    for (const verb of ['reload', 'restart']) {
      const response = await post(`/api/hosts/${fleet.hostId}/${verb}`);
      expect((await response.json<CommandResponse>()).command.type).toBe(`host.${verb}`);
    }
    await answerAll({ kind: 'host', id: fleet.hostId });
  });

  it('answers 404 for an unknown host, 409 for a dead one, 400 for a bad grace period, 403 for a viewer', async () => {
    expect((await post('/api/hosts/no-such-host/terminate')).status).toBe(404);
    const dead = await post(`/api/hosts/${deadHost}/reload`);
    expect(dead.status).toBe(409);
    expect((await errorOf(dead)).code).toBe('conflict');
    expect((await post(`/api/hosts/${fleet.hostId}/terminate`, { graceSeconds: -1 })).status).toBe(400);
    const viewer = await createToken('viewer');
    expect(
      (await call(`/api/hosts/${fleet.hostId}/terminate`, { method: 'POST', headers: bearer(viewer.token) }))
        .status,
    ).toBe(403);
  });
});

describe('supervisors', () => {
  it('lists a supervisor once with an instance per live host', async () => {
    const response = await call('/api/supervisors', { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const { supervisors } = await response.json<{ supervisors: Supervisor[] }>();
    const supervisor = supervisors.find((candidate) => candidate.name === fleet.supervisor)!;
    expect(supervisor).toMatchObject({
      connections: [fleet.connection],
      queues: [fleet.queue, `${fleet.queue}-b`],
      processes: 4,
      pending: null,
    });
    expect(supervisor.instances.map((instance) => [instance.hostId, instance.status]).sort()).toEqual(
      [
        [fleet.hostId, 'running'],
        [secondHost, 'paused'],
      ].sort(),
    );
    expect(supervisor.instances.find((instance) => instance.hostId === fleet.hostId)?.workers).toEqual({
      running: 1,
      paused: 1,
    });
  });

  it('scales, pauses, continues and terminates by name, with ?wait', async () => {
    const waiting = post(`/api/supervisors/${fleet.supervisor}/scale?wait=10`, {
      processes: 6,
      queue: fleet.queue,
    });
    const claimed = await claimCommand(bus, { kind: 'supervisor', id: fleet.supervisor });
    expect(claimed).toMatchObject({ type: 'supervisor.scale', args: { processes: 6, queue: fleet.queue } });
    await bus.acknowledge(claimed.id, claimed.claimToken, {
      ok: true,
      result: { supervisor: fleet.supervisor, processes: 6 },
    });
    const response = await waiting;
    expect(response.status).toBe(200);
    expect((await response.json<CommandResponse>()).command.result).toEqual({
      supervisor: fleet.supervisor,
      processes: 6,
    });
    for (const verb of ['pause', 'continue', 'terminate']) {
      const sent = await post(`/api/supervisors/${fleet.supervisor}/${verb}`);
      expect(sent.status).toBe(202);
      expect((await sent.json<CommandResponse>()).command).toMatchObject({
        type: `supervisor.${verb}`,
        args: {},
      });
    }
    const list = await call('/api/supervisors', { headers: adminHeaders() });
    const supervisor = (await list.json<{ supervisors: Supervisor[] }>()).supervisors.find(
      (s) => s.name === fleet.supervisor,
    );
    expect(supervisor?.pending).toMatchObject({ type: 'supervisor.terminate', label: 'terminating' });
    await answerAll({ kind: 'supervisor', id: fleet.supervisor });
  });

  it('answers 404 for an unknown supervisor and 400 for a bad scale', async () => {
    expect((await post('/api/supervisors/no-such-supervisor/pause')).status).toBe(404);
    for (const body of [{}, { processes: -1 }, { processes: 1.5 }, { processes: 2, extra: true }]) {
      expect(
        (await post(`/api/supervisors/${fleet.supervisor}/scale`, body)).status,
        JSON.stringify(body),
      ).toBe(400);
    }
  });
});

describe('bad input on the hosts and supervisors routes', () => {
  it('answers every fuzzed request with a 4xx and changes nothing', async () => {
    await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_commands', 'watchtower_audit_log'],
      watch: [
        {
          label: 'commands for the fleet',
          query: sql`select id, status from watchtower_commands where target_id in (${fleet.hostId}, ${fleet.supervisor}) order by id`,
        },
      ],
      routes: [
        { method: 'GET', path: '/api/hosts', query: { status: 'running', limit: '10' } },
        {
          method: 'POST',
          path: `/api/hosts/${fleet.hostId}/terminate`,
          body: { graceSeconds: 10 },
          emptyBodyValid: true,
          idTemplate: '/api/hosts/{id}/terminate',
          idKind: 'text',
        },
        {
          method: 'POST',
          path: `/api/hosts/${fleet.hostId}/reload`,
          query: { wait: '0' },
          idTemplate: '/api/hosts/{id}/reload',
          idKind: 'text',
        },
        {
          method: 'POST',
          path: `/api/supervisors/${fleet.supervisor}/scale`,
          body: { processes: 3, queue: fleet.queue },
          freeText: ['queue'],
          idTemplate: '/api/supervisors/{id}/scale',
          idKind: 'text',
        },
        {
          method: 'POST',
          path: `/api/supervisors/${fleet.supervisor}/pause`,
          query: { ttl: '5' },
          idTemplate: '/api/supervisors/{id}/pause',
          idKind: 'text',
        },
      ],
    });
  });
});
