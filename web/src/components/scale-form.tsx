import { useSignal } from '@preact/signals';
import { useId } from 'preact/hooks';
import { api } from '../api/client';
import type { CommandTracker } from '../state/command';

/** The API's bounds for supervisor.scale. */
const MAX_PROCESSES = 1000;

/** "3" → 3; anything but a whole number from 0 to 1,000 → the reason it is refused. */
export function parseProcesses(text: string): number | string {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return 'Enter a whole number of processes, 0 or more.';
  const value = Number(trimmed);
  if (value > MAX_PROCESSES) return `At most ${MAX_PROCESSES.toLocaleString()} processes.`;
  return value;
}

/** Scale a supervisor: the number is checked here first; the API checks it again. */
export function ScaleForm({
  name,
  current,
  tracker,
}: {
  name: string;
  current: number;
  tracker: CommandTracker;
}) {
  const value = useSignal(String(current));
  const problem = useSignal<string | null>(null);
  const inputId = useId();
  const errorId = useId();
  return (
    <form
      class="scale-form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const processes = parseProcesses(value.value);
        if (typeof processes === 'string') {
          problem.value = processes;
          return;
        }
        problem.value = null;
        void tracker.send('scaling', () =>
          api.api.supervisors[':name'].scale.$post({ param: { name }, query: {}, json: { processes } }),
        );
      }}
    >
      <label for={inputId}>Processes</label>
      <input
        id={inputId}
        type="number"
        inputMode="numeric"
        min={0}
        max={MAX_PROCESSES}
        step={1}
        required
        value={value.value}
        aria-invalid={problem.value !== null}
        aria-describedby={problem.value !== null ? errorId : undefined}
        onInput={(event) => {
          value.value = event.currentTarget.value;
          problem.value = null;
        }}
      />
      <button type="submit" class="button-quiet" disabled={tracker.state.value?.phase === 'sending'}>
        Scale
      </button>
      {problem.value !== null && (
        <p id={errorId} class="form-error" role="alert">
          {problem.value}
        </p>
      )}
    </form>
  );
}
