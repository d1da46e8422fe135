import { useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import './dialog-form.css';

/**
 * A form in a dialog: the API's refusal shown above the buttons (`onSubmit` answers it, or null
 * when done), the submit button disabled while the request is out.
 */
export function DialogForm({
  titleId,
  title,
  submitLabel,
  danger = false,
  noValidate = false,
  onSubmit,
  onCancel,
  children,
}: {
  titleId: string;
  title: string;
  submitLabel: string;
  danger?: boolean;
  /** The form checks its fields itself and shows each problem next to its field, not in a bubble. */
  noValidate?: boolean;
  onSubmit: (form: FormData) => Promise<string | null>;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    error.value = await onSubmit(new FormData(event.currentTarget as HTMLFormElement));
    busy.value = false;
  }
  return (
    <form class="dialog-form" noValidate={noValidate} onSubmit={(event) => void submit(event)}>
      <h2 id={titleId}>{title}</h2>
      {children}
      {error.value !== null && (
        <p class="form-error" role="alert">
          {error.value}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class={danger ? 'button-danger' : 'button-primary'} disabled={busy.value}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
