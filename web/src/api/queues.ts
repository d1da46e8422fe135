import type { InferResponseType } from 'hono/client';
import { api, errorMessage } from './client';

/** The Queues page's and the Overview's shapes, typed from the Worker's own routes. */
export type QueueList = InferResponseType<typeof api.api.queues.$get, 200>;
export type QueueInfo = QueueList['queues'][number];
export type HostList = InferResponseType<typeof api.api.hosts.$get, 200>;
export type HostInfo = HostList['hosts'][number];
export type CommandBody = InferResponseType<(typeof api.api.commands)[':id']['$get'], 200>['command'];

/** How a command ended, as the page tells it. */
export type CommandEnd =
  | { kind: 'done'; command: CommandBody }
  | { kind: 'refused'; reason: string }
  | { kind: 'expired'; reason: string }
  | { kind: 'error'; reason: string };

/** Seconds each GET /api/commands/{id}/wait holds on before answering "still open". */
const WAIT_SECONDS = '10';

/**
 * Waits for a host's answer to a command: GET /api/commands/{id}/wait again and again while it is
 * still open (each waits up to WAIT_SECONDS server-side), until a host answered, it expired, or
 * `signal` aborts (the page went away).
 */
export async function awaitCommand(id: string, signal: AbortSignal): Promise<CommandEnd | null> {
  while (!signal.aborted) {
    let response: Awaited<ReturnType<(typeof api.api.commands)[':id']['wait']['$get']>>;
    try {
      response = await api.api.commands[':id'].wait.$get(
        { param: { id }, query: { timeout: WAIT_SECONDS } },
        { init: { signal } },
      );
    } catch {
      if (signal.aborted) return null;
      return { kind: 'error', reason: 'The server cannot be reached' };
    }
    const status: number = response.status;
    if (status === 202) continue;
    if (status === 409) {
      return {
        kind: 'expired',
        reason: 'No host that reaches the queue took the command in time; nothing was done.',
      };
    }
    if (!response.ok) return { kind: 'error', reason: await errorMessage(response) };
    const { command } = await response.json();
    if (command.status === 'done') return { kind: 'done', command };
    if (command.status === 'failed') return { kind: 'refused', reason: command.error ?? 'no reason given' };
  }
  return null;
}
