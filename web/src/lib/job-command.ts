import { api, errorMessage } from '../api/client';
import type { Command } from '../api/failed';

/** What the page says about one command: pending until a host answers, then done or its reason. */
export interface Outcome {
  tone: 'pending' | 'ok' | 'error';
  text: string;
}

export type JobAction = 'retry' | 'delete';

/** Seconds each request waits for the host's answer before the page asks again. */
const SEND_WAIT = '10';
const FOLLOW_WAIT = '20';

/**
 * Sends one job command (POST /api/failed/{id}/retry or DELETE /api/failed/{id}) and follows it
 * until a host answers or it expires: `onUpdate` hears "pending" first, and the result is the
 * host's answer. A command still open when a wait runs out is followed on
 * GET /api/commands/{id}/wait, one request at a time. `signal` stops following (the page closed),
 * not the command.
 */
export async function runJobCommand(
  action: JobAction,
  id: number,
  signal: AbortSignal,
  onUpdate: (outcome: Outcome) => void,
): Promise<Outcome> {
  onUpdate({ tone: 'pending', text: 'Pending: waiting for a host…' });
  try {
    const param = { id: String(id) };
    const query = { wait: SEND_WAIT };
    const sent =
      action === 'retry'
        ? await api.api.failed[':id'].retry.$post({ param, query }, { init: { signal } })
        : await api.api.failed[':id'].$delete({ param, query }, { init: { signal } });
    if (!sent.ok) return { tone: 'error', text: await errorMessage(sent) };
    let { command } = await sent.json();
    while (command.status === 'pending' || command.status === 'claimed') {
      onUpdate({
        tone: 'pending',
        text:
          command.status === 'claimed' ? 'Pending: a host is on it…' : 'Pending: no host has answered yet…',
      });
      const waited = await api.api.commands[':id'].wait.$get(
        { param: { id: command.id }, query: { timeout: FOLLOW_WAIT } },
        { init: { signal } },
      );
      if (!waited.ok) {
        // 409: it expired (no host claimed it before its TTL; it will never run).
        const status: number = waited.status;
        return status === 409 ? expired() : { tone: 'error', text: await errorMessage(waited) };
      }
      command = (await waited.json()).command;
    }
    return answered(action, command);
  } catch {
    if (signal.aborted) return { tone: 'pending', text: 'Pending (no longer followed)' };
    return { tone: 'error', text: 'The server cannot be reached' };
  }
}

function expired(): Outcome {
  return { tone: 'error', text: 'Expired: no host claimed it in time; nothing was done' };
}

function answered(action: JobAction, command: Pick<Command, 'status' | 'error' | 'result'>): Outcome {
  if (command.status === 'expired') return expired();
  if (command.status === 'failed')
    return { tone: 'error', text: `Refused: ${command.error ?? 'no reason given'}` };
  const result = command.result as { action?: unknown } | null;
  if (action === 'delete') return { tone: 'ok', text: 'Deleted from its queue' };
  return {
    tone: 'ok',
    text: result?.action === 'readded' ? 'Re-added from its stored data' : 'Re-queued',
  };
}

/** Runs `tasks` with at most `width` at a time: a selection of 200 jobs is not 200 requests at once. */
export async function inBatches<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
