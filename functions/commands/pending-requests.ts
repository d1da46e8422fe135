import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Command, CommandTarget } from '../../core/bus/command-bus';
import { busDriver } from '../bus';
import type { AppEnv } from '../env';
import { type OpenCommandRow, openCommands } from '../queries/open-commands';
import { TimestampSchema } from '../schemas/common';

/**
 * "Stopping" until the host says stopped: lists show what hosts confirmed (the rows their
 * heartbeats write) and, beside it, the newest request still waiting for a host.
 *
 * Where the open requests come from depends on the bus driver:
 * - database: the watchtower_commands rows themselves (one indexed query), so a request shows
 *   whoever sent it (this API, a script on the bus, another Cloudflare Worker).
 * - redis: the bus keeps no queryable table, so when this API sends a command it also leaves a
 *   marker under `watchtower:pending:<subject>` with the bus's own put (TTL = the command's), and a
 *   list reads the markers back (the Upstash client pipelines the gets into one request) and asks
 *   the bus for each one's status. Requests sent to the redis bus by other means are not shown.
 */

/** What a list row can have pending: one worker, host, supervisor or queue. */
export interface PendingSubject {
  key: string;
  /** The bus targets whose commands can concern it (a worker's commands may go to its host). */
  targets: CommandTarget[];
}

export const PendingRequestSchema = z
  .object({
    commandId: z.uuid(),
    type: z.string().openapi({ example: 'worker.stop' }),
    status: z.enum(['pending', 'claimed']).openapi({ description: 'claimed: a host is carrying it out' }),
    label: z.string().openapi({ example: 'stopping', description: 'What to show until the host confirms' }),
    createdAt: TimestampSchema,
  })
  .openapi('PendingRequest');
export type PendingRequest = z.infer<typeof PendingRequestSchema>;

const LABELS: Record<string, string> = {
  'worker.stop': 'stopping',
  'worker.pause': 'pausing',
  'worker.resume': 'resuming',
  'worker.restart': 'restarting',
  'worker.start': 'starting a worker',
  'supervisor.scale': 'scaling',
  'supervisor.pause': 'pausing',
  'supervisor.continue': 'continuing',
  'supervisor.terminate': 'terminating',
  'queue.pause': 'pausing',
  'queue.resume': 'resuming',
  'host.reload': 'reloading',
  'host.restart': 'restarting',
  'host.terminate': 'terminating',
  'connection.test': 'testing',
  'connection.discover': 'discovering queues',
};

const part = encodeURIComponent;

export const subjects = {
  worker: (workerId: string, hostId: string): PendingSubject => ({
    key: `worker:${part(workerId)}`,
    targets: [
      { kind: 'worker', id: workerId },
      { kind: 'host', id: hostId },
    ],
  }),
  host: (hostId: string): PendingSubject => ({
    key: `host:${part(hostId)}`,
    targets: [{ kind: 'host', id: hostId }],
  }),
  supervisor: (name: string): PendingSubject => ({
    key: `supervisor:${part(name)}`,
    targets: [{ kind: 'supervisor', id: name }],
  }),
  queue: (connection: string, queue: string): PendingSubject => ({
    key: `queue:${part(connection)}/${part(queue)}`,
    targets: [{ kind: 'connection', id: connection }],
  }),
};

/** The subject a command is about, or null when lists do not show it (job commands, bulk commands). */
export function subjectKeyOf(command: Pick<Command, 'target' | 'type' | 'args'>): string | null {
  const { target, type } = command;
  const args = command.args ?? {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  if (type === 'worker.start') {
    return target.kind === 'supervisor' ? subjects.supervisor(target.id).key : subjects.host(target.id).key;
  }
  if (type.startsWith('worker.')) {
    const workerId = target.kind === 'worker' ? target.id : text(args.workerId);
    return workerId === undefined ? null : `worker:${part(workerId)}`;
  }
  if (type.startsWith('supervisor.')) return subjects.supervisor(target.id).key;
  if (type.startsWith('host.')) return subjects.host(target.id).key;
  if (type === 'queue.pause' || type === 'queue.resume') {
    const queue = text(args.queue);
    if (queue === undefined) return null;
    // The host resolves the connection the same way (worker-host/commands/handle-command.ts).
    const connection = text(args.connection) ?? (target.kind === 'connection' ? target.id : 'default');
    return subjects.queue(connection, queue).key;
  }
  return null;
}

function markerKey(subjectKey: string): string | null {
  const key = `watchtower:pending:${subjectKey}`;
  // The bus's key rules: at most 200 printable characters. Longer names simply show no marker.
  return key.length <= 200 ? key : null;
}

interface Marker {
  commandId: string;
}

/** After a send on the redis bus: leaves the marker lists read back. Best effort; never throws. */
export async function rememberPending(c: Context<AppEnv>, command: Command): Promise<void> {
  if (busDriver(c.env) !== 'redis') return;
  const subjectKey = subjectKeyOf(command);
  const key = subjectKey === null ? null : markerKey(subjectKey);
  if (key === null) return;
  // Until the command can no longer be handed out: its TTL, plus a lease that may run past it.
  const ttl = Math.max(1, Math.ceil((command.expiresAt.getTime() - Date.now()) / 1000) + 60);
  const marker: Marker = { commandId: command.id };
  await c
    .get('services')
    .bus.put(key, marker, ttl)
    .catch((error: unknown) => {
      console.error(
        'watchtower: could not record a pending request:',
        error instanceof Error ? error.message : error,
      );
    });
}

/** The newest open request of each subject that has one. */
export async function findPending(
  c: Context<AppEnv>,
  wanted: readonly PendingSubject[],
  /** The database bus's open commands for these subjects, when a statement already read them. */
  prefetched?: readonly OpenCommandRow[] | null,
): Promise<Map<string, PendingRequest>> {
  const found = new Map<string, PendingRequest>();
  if (wanted.length === 0) return found;
  const keys = new Set(wanted.map((subject) => subject.key));
  const services = c.get('services');
  if (busDriver(c.env) === 'database') {
    const rows =
      prefetched ??
      (await openCommands(
        services.db,
        wanted.flatMap((subject) => subject.targets),
      ));
    // Oldest first, so the newest request of a subject is the one left in the map.
    for (const row of rows) {
      const key = subjectKeyOf({
        target: { kind: row.target_kind, id: row.target_id },
        type: row.type,
        args: row.args ?? {},
      });
      if (key !== null && keys.has(key))
        found.set(key, toPending(row.id, row.type, row.status, row.created_at));
    }
    return found;
  }
  const subjectKeys = [...keys];
  const markers = await Promise.all(
    subjectKeys.map((key) => {
      const marker = markerKey(key);
      return marker === null ? null : services.bus.get<Marker>(marker).catch(() => null);
    }),
  );
  const commands = await Promise.all(
    markers.map((marker) =>
      marker?.commandId ? services.bus.find(marker.commandId).catch(() => null) : null,
    ),
  );
  commands.forEach((command, index) => {
    const key = subjectKeys[index];
    if (!command || key === undefined) return;
    if (command.status !== 'pending' && command.status !== 'claimed') return;
    found.set(key, toPending(command.id, command.type, command.status, command.createdAt.toISOString()));
  });
  return found;
}

function toPending(
  commandId: string,
  type: string,
  status: 'pending' | 'claimed',
  createdAt: string,
): PendingRequest {
  return { commandId, type, status, label: LABELS[type] ?? type, createdAt };
}
