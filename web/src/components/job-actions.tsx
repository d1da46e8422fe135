import { useSignal } from '@preact/signals';
import { useRef } from 'preact/hooks';
import { api, errorMessage } from '../api/client';
import { canOperate } from '../state/roles';

type Outcome = { tone: 'ok' | 'error' | 'pending'; text: string };

/** Seconds the request waits for a host to carry the command out before answering "still pending". */
const WAIT_SECONDS = '10';

/**
 * Retry or delete a failed job. Each button sends a command to a worker-host; the page says it is
 * pending until a host answers, then what the host did or why it refused. Delete asks first, in a
 * modal dialog (focus stays in it, Escape closes it). Hidden from viewers. The buttons show only
 * while the job is failed; the outcome stays after it no longer is (a retried job completes).
 */
export function JobActions({ id, failed, onDone }: { id: number; failed: boolean; onDone: () => void }) {
  const busy = useSignal<'retry' | 'delete' | null>(null);
  const outcome = useSignal<Outcome | null>(null);
  const confirm = useRef<HTMLDialogElement>(null);
  if (!canOperate.value || (!failed && outcome.value === null)) return null;

  async function send(action: 'retry' | 'delete') {
    busy.value = action;
    outcome.value = {
      tone: 'pending',
      text: `${action === 'retry' ? 'Retry' : 'Delete'} sent; waiting for a host…`,
    };
    try {
      const param = { id: String(id) };
      const query = { wait: WAIT_SECONDS };
      const response =
        action === 'retry'
          ? await api.api.failed[':id'].retry.$post({ param, query })
          : await api.api.failed[':id'].$delete({ param, query });
      if (!response.ok) {
        outcome.value = { tone: 'error', text: await errorMessage(response) };
        return;
      }
      const { command, timedOut } = await response.json();
      if (timedOut || command.status === 'pending' || command.status === 'claimed') {
        outcome.value = { tone: 'pending', text: 'No host has answered yet; the command stays pending.' };
      } else if (command.status === 'done') {
        outcome.value = {
          tone: 'ok',
          text: action === 'retry' ? 'A host re-queued the job.' : 'A host deleted the job from its queue.',
        };
      } else {
        outcome.value = { tone: 'error', text: `The host refused: ${command.error ?? command.status}` };
      }
      onDone();
    } catch {
      outcome.value = { tone: 'error', text: 'The server cannot be reached' };
    } finally {
      busy.value = null;
    }
  }

  return (
    <div class="job-actions">
      {failed && (
        <>
          <button
            type="button"
            class="button-primary"
            disabled={busy.value !== null}
            onClick={() => void send('retry')}
          >
            {busy.value === 'retry' ? 'Retrying…' : 'Retry'}
          </button>
          <button type="button" disabled={busy.value !== null} onClick={() => confirm.current?.showModal()}>
            {busy.value === 'delete' ? 'Deleting…' : 'Delete'}
          </button>
        </>
      )}
      {outcome.value && (
        <p class={`outcome outcome-${outcome.value.tone}`} role="status">
          {outcome.value.text}
        </p>
      )}
      <dialog ref={confirm} aria-labelledby="confirm-delete-title">
        <form method="dialog">
          <h2 id="confirm-delete-title">Delete this job?</h2>
          <p>It is removed from its queue in Redis; its history here stays.</p>
          <div class="dialog-actions">
            <button type="submit" value="cancel">
              Cancel
            </button>
            <button type="submit" value="delete" class="button-danger" onClick={() => void send('delete')}>
              Delete
            </button>
          </div>
        </form>
      </dialog>
    </div>
  );
}
