import { useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { type CommandState, type CommandTracker, createCommandTracker, isOpen } from '../state/command';
import { ConfirmDialog } from './confirm-dialog';
import { StatusBadge } from './status-badge';

type Send = Parameters<CommandTracker['send']>[1];

/** A tracker that lives as long as the component showing it; `onAnswered` refreshes the page. */
export function useCommandTracker(onAnswered: () => void): CommandTracker {
  const tracker = useMemo(() => createCommandTracker(onAnswered), []);
  useEffect(() => () => tracker.dispose(), [tracker]);
  return tracker;
}

/**
 * One action: sends its command through the subject's tracker. With `confirm`, it asks first in a
 * modal dialog. Disabled only while the API has not taken the request yet: a later one may follow.
 */
export function CommandButton({
  tracker,
  label,
  pendingLabel,
  send,
  confirm,
  accessibleName,
}: {
  tracker: CommandTracker;
  label: string;
  /** What the subject shows until the host answers ("pausing"). */
  pendingLabel: string;
  send: Send;
  confirm?: { title: string; body: ComponentChildren };
  /** The button's name for assistive technology when `label` alone is ambiguous ("Pause worker 3f2a…"). */
  accessibleName?: string;
}) {
  const asking = useSignal(false);
  const go = () => void tracker.send(pendingLabel, send);
  return (
    <>
      <button
        type="button"
        class="button-quiet"
        aria-label={accessibleName}
        disabled={tracker.state.value?.phase === 'sending'}
        onClick={() => {
          if (confirm) asking.value = true;
          else go();
        }}
      >
        {label}
      </button>
      {confirm && (
        <ConfirmDialog
          open={asking.value}
          title={confirm.title}
          confirmLabel={label}
          danger
          onConfirm={go}
          onClose={() => {
            asking.value = false;
          }}
        >
          {confirm.body}
        </ConfirmDialog>
      )}
    </>
  );
}

/**
 * The state a subject shows: what its host confirmed, or, while a request is open (this page's,
 * or one the list reports from anyone), the request's label marked pending. The confirmed state
 * shows again only once no request is open, i.e. after the host answered.
 */
export function ConfirmedStatus({
  status,
  listPending,
  tracked,
}: {
  status: string;
  listPending: { label: string; status: 'pending' | 'claimed' } | null;
  tracked: CommandState | null;
}) {
  const open = isOpen(tracked) ? tracked : null;
  const label = open?.label ?? listPending?.label;
  if (label === undefined) return <StatusBadge status={status} />;
  const claimed = open?.phase === 'pending' ? open.claimed : listPending?.status === 'claimed';
  return (
    <span
      class="status status-pending"
      data-pending={label}
      title={`Requested; ${claimed ? 'a host is carrying it out' : 'no host has taken it yet'}. Last confirmed: ${status}`}
    >
      {label}… <span class="pending-word">pending</span>
    </span>
  );
}

const DONE_TEXT = 'Done: the host confirmed it.';

/** What became of this page's last request, once it is more than "pending". */
export function CommandOutcome({ state }: { state: CommandState | null }) {
  if (state === null || state.phase === 'sending' || state.phase === 'pending') return null;
  const [tone, text] = outcomeText(state);
  return (
    <p class={`outcome outcome-${tone}`} role="status" data-outcome={state.phase}>
      {text}
    </p>
  );
}

function outcomeText(state: CommandState): ['ok' | 'error' | 'pending', string] {
  switch (state.phase) {
    case 'done':
      return ['ok', DONE_TEXT];
    case 'failed':
      return ['error', `The host refused: ${state.reason}`];
    case 'expired':
      return ['error', 'Expired: no host took it in time, so it will not run.'];
    case 'refused':
      return ['error', state.reason];
    case 'lost':
      return [
        'pending',
        `Sent, but its answer cannot be read (${state.reason}); the list shows what hosts confirm.`,
      ];
    default:
      return ['pending', 'Waiting for a host…'];
  }
}
