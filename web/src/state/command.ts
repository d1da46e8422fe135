import { type ReadonlySignal, signal } from '@preact/signals';
import { api, errorMessage } from '../api/client';
import type { Command } from '../api/workers';
import { pollIntervalMs } from './settings';

/**
 * Where one request stands, from the click to the host's answer:
 * - sending: the API has not taken it yet;
 * - pending: on the bus, no host has answered (claimed: a host holds it and is carrying it out);
 * - done / failed: the host answered (failed carries its reason);
 * - expired: no host claimed it before its TTL, so it will never run;
 * - refused: the API did not take it (a 4xx: a dead worker, no permission…) or cannot be reached;
 * - lost: the API took it but answers no more about it; the lists still show what hosts confirm.
 */
export type CommandState =
  | { phase: 'sending'; label: string }
  | { phase: 'pending'; label: string; commandId: string; claimed: boolean }
  | { phase: 'done'; label: string; commandId: string }
  | { phase: 'failed'; label: string; commandId: string; reason: string }
  | { phase: 'expired'; label: string; commandId: string }
  | { phase: 'refused'; label: string; reason: string }
  | { phase: 'lost'; label: string; commandId: string; reason: string };

/** What a send answers: 202 (or 200) `{ command }`, or the API's error. */
type SendAnswer = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;

export interface CommandTracker {
  readonly state: ReadonlySignal<CommandState | null>;
  /** Sends a request (replacing the one followed so far) and follows it to the host's answer. */
  send(label: string, request: () => Promise<SendAnswer>): Promise<void>;
  /** Stops following (the component that shows it is gone). */
  dispose(): void;
}

/** Seconds each GET /api/commands/{id}/wait holds on before answering "still open". */
const WAIT_SECONDS = '10';

export function isOpen(state: CommandState | null): boolean {
  return state?.phase === 'sending' || state?.phase === 'pending';
}

/**
 * One subject's requests (a worker process, a supervisor, a host): a send answers with the
 * command's id at once, then GET /api/commands/{id}/wait follows it until a host answers or it
 * expires. `onAnswered` runs then, so the page polls again and shows the state the host confirmed.
 */
export function createCommandTracker(onAnswered: () => void): CommandTracker {
  const state = signal<CommandState | null>(null);
  let current: AbortController | null = null;

  async function follow(label: string, command: Command, abort: AbortSignal): Promise<void> {
    let open = command;
    for (;;) {
      if (open.status === 'done') state.value = { phase: 'done', label, commandId: open.id };
      else if (open.status === 'failed')
        state.value = { phase: 'failed', label, commandId: open.id, reason: open.error ?? 'no reason given' };
      else if (open.status === 'expired') state.value = { phase: 'expired', label, commandId: open.id };
      else {
        state.value = { phase: 'pending', label, commandId: open.id, claimed: open.status === 'claimed' };
        const next = await waitFor(open.id, abort);
        if (abort.aborted) return;
        if ('lost' in next) {
          state.value = { phase: 'lost', label, commandId: open.id, reason: next.lost };
          return;
        }
        open = next.command;
        continue;
      }
      onAnswered();
      return;
    }
  }

  return {
    state,
    async send(label, request) {
      current?.abort();
      const abort = new AbortController();
      current = abort;
      state.value = { phase: 'sending', label };
      let response: SendAnswer;
      try {
        response = await request();
      } catch {
        if (!abort.signal.aborted)
          state.value = { phase: 'refused', label, reason: 'The server cannot be reached' };
        return;
      }
      if (abort.signal.aborted) return;
      if (!response.ok) {
        state.value = { phase: 'refused', label, reason: await errorMessage(response) };
        return;
      }
      const { command } = (await response.json()) as { command: Command };
      await follow(label, command, abort.signal);
    },
    dispose() {
      current?.abort();
      current = null;
    },
  };
}

/** One wait on the command; network failures are retried on the poll's schedule. */
async function waitFor(id: string, abort: AbortSignal): Promise<{ command: Command } | { lost: string }> {
  for (;;) {
    try {
      const response = await api.api.commands[':id'].wait.$get(
        { param: { id }, query: { timeout: WAIT_SECONDS } },
        { init: { signal: abort } },
      );
      const status: number = response.status;
      // 200: answered; 202: still open; 409: expired (the command is in the error's details).
      if (status === 200 || status === 202) return { command: (await response.json()).command };
      if (status === 409) {
        const body = (await response.json()) as { error?: { details?: { command?: Command } } };
        const command = body.error?.details?.command;
        if (command) return { command };
      }
      return { lost: await errorMessage(response) };
    } catch {
      if (abort.aborted) return { lost: 'stopped following' };
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs.peek()));
    }
  }
}
