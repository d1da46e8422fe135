import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { api, errorMessage } from '../api/client';
import { awaitCommand, type QueueInfo } from '../api/queues';
import { canOperate } from '../state/roles';
import { PausedState } from './queue-figures';

type Verb = 'pause' | 'resume';

interface Action {
  verb: Verb;
  phase: 'pending' | 'confirmed' | 'refused';
  text: string;
  /** When the host finished the command: the list shows the new state once it is that fresh. */
  finishedAt?: number;
}

const PENDING_LABEL: Record<Verb, string> = { pause: 'pausing…', resume: 'resuming…' };

/**
 * Pause and Resume for one queue: a command to any host that reaches its connection. Until the host
 * answers, the queue shows "pausing…" (pending); once it answered, the state shown is the one the
 * queue list reports from the host's answer (the next poll), or the host's reason for refusing.
 */
export function useQueueAction(queue: QueueInfo, refresh: () => void) {
  const action = useSignal<Action | null>(null);
  const waiting = useRef<AbortController | null>(null);
  useEffect(() => () => waiting.current?.abort(), []);

  async function send(verb: Verb): Promise<void> {
    waiting.current?.abort();
    const controller = new AbortController();
    waiting.current = controller;
    action.value = { verb, phase: 'pending', text: 'Sent; waiting for a host to carry it out…' };
    let sent: Awaited<ReturnType<(typeof api.api.queues)[':queue']['pause']['$post']>>;
    try {
      const request = {
        param: { queue: queue.queue },
        query: { wait: '0' },
        json: { connection: queue.connection },
      };
      sent =
        verb === 'pause'
          ? await api.api.queues[':queue'].pause.$post(request)
          : await api.api.queues[':queue'].resume.$post(request);
    } catch {
      action.value = { verb, phase: 'refused', text: 'The server cannot be reached; nothing was sent.' };
      return;
    }
    if (!sent.ok) {
      action.value = { verb, phase: 'refused', text: await errorMessage(sent) };
      return;
    }
    const { command } = await sent.json();
    const end = await awaitCommand(command.id, controller.signal);
    if (end === null) return;
    if (end.kind === 'done') {
      const finishedAt = Date.parse(end.command.finishedAt ?? '');
      action.value = {
        verb,
        phase: 'confirmed',
        text: verb === 'pause' ? 'A host paused the queue.' : 'A host resumed the queue.',
        finishedAt: Number.isNaN(finishedAt) ? 0 : finishedAt,
      };
      refresh();
    } else {
      action.value = {
        verb,
        phase: 'refused',
        text: end.kind === 'refused' ? `The host refused: ${end.reason}` : end.reason,
      };
    }
  }

  const current = action.value;
  const reported = queue.pausedReportedAt === null ? 0 : Date.parse(queue.pausedReportedAt);
  // Pending while no host answered, and after its answer until the list has caught up with it.
  const pendingVerb =
    current?.phase === 'pending' || (current?.phase === 'confirmed' && reported < (current.finishedAt ?? 0))
      ? current.verb
      : null;
  return { action: current, pendingVerb, send };
}

/** The queue's paused state: confirmed by a host, or pending while a request waits for one. */
export function QueueStateCell({ queue, pendingVerb }: { queue: QueueInfo; pendingVerb: Verb | null }) {
  if (pendingVerb !== null) {
    return (
      <span class="status status-pending" data-pending={pendingVerb}>
        {PENDING_LABEL[pendingVerb]} <span class="visually-hidden">(pending)</span>
      </span>
    );
  }
  return (
    <>
      <PausedState paused={queue.paused} />
      {queue.pending && <span class="cell-sub"> {queue.pending.label}…</span>}
    </>
  );
}

/** Pause / Resume, for operators and admins only (the API refuses a viewer anyway). */
export function QueueButtons({
  queue,
  busy,
  onSend,
}: {
  queue: QueueInfo;
  busy: boolean;
  onSend: (verb: Verb) => void;
}) {
  if (!canOperate.value) return null;
  return (
    <>
      {queue.paused !== true && (
        <button
          type="button"
          disabled={busy}
          aria-label={`Pause ${queue.queue}`}
          onClick={() => onSend('pause')}
        >
          Pause
        </button>
      )}
      {queue.paused !== false && (
        <button
          type="button"
          disabled={busy}
          aria-label={`Resume ${queue.queue}`}
          onClick={() => onSend('resume')}
        >
          Resume
        </button>
      )}
    </>
  );
}
