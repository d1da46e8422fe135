import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { type DiscoverResult, discoverQueues, type ProbeOutcome } from '../state/connection-probe';

type Shown = { phase: 'looking' } | { phase: 'answered'; outcome: ProbeOutcome<DiscoverResult> };

/**
 * "Discover queues": a live host lists the BullMQ queues it finds on the connection, and each one
 * found can be ticked into the supervisor's queue list. If it cannot (no live host, the server
 * down), it says so; the queue names can always be typed in.
 */
export function QueueDiscovery({
  connectionId,
  chosen,
  onToggle,
}: {
  /** The chosen connection's id; null when none is chosen (or it is not on the list). */
  connectionId: string | null;
  chosen: readonly string[];
  onToggle: (queue: string, on: boolean) => void;
}) {
  const shown = useSignal<Shown | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  // Another connection: what was found on the previous one no longer applies.
  useEffect(() => {
    abort.current?.abort();
    shown.value = null;
  }, [connectionId]);

  async function discover(id: string) {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    shown.value = { phase: 'looking' };
    const outcome = await discoverQueues(id, controller.signal);
    if (!controller.signal.aborted) shown.value = { phase: 'answered', outcome };
  }

  const state = shown.value;
  return (
    <div class="discovery">
      <button
        type="button"
        disabled={connectionId === null || state?.phase === 'looking'}
        onClick={() => connectionId && void discover(connectionId)}
      >
        Discover queues
      </button>
      <div role="status" class="discovery-status">
        {connectionId === null && <span class="hint">Choose a connection to discover its queues.</span>}
        {state?.phase === 'looking' && <span class="outcome outcome-pending">Looking for queues…</span>}
        {state?.phase === 'answered' && !state.outcome.ok && (
          <span class="outcome outcome-error">
            Could not discover queues: {state.outcome.message}. Type the queue names below instead.
          </span>
        )}
        {state?.phase === 'answered' && state.outcome.ok && (
          <span class="hint">
            {state.outcome.result.queues.length === 0
              ? `No queues found (${state.outcome.result.scannedKeys} keys looked at). Type the queue names below.`
              : `Found ${state.outcome.result.queues.length} queue${state.outcome.result.queues.length === 1 ? '' : 's'}${
                  state.outcome.result.truncated ? ' (the search stopped early: there may be more)' : ''
                }. Tick the ones this supervisor works on.`}
          </span>
        )}
      </div>
      {state?.phase === 'answered' && state.outcome.ok && state.outcome.result.queues.length > 0 && (
        <fieldset class="discovered">
          <legend>Queues found</legend>
          {state.outcome.result.queues.map((queue) => (
            <label key={queue} class="config-check">
              <input
                type="checkbox"
                checked={chosen.includes(queue)}
                onChange={(event) => onToggle(queue, event.currentTarget.checked)}
              />
              <span class="discovered-name">{queue}</span>
            </label>
          ))}
        </fieldset>
      )}
    </div>
  );
}
