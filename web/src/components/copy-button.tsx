import { useSignal } from '@preact/signals';

/**
 * Copies `text` to the clipboard and says so (or why it could not) next to the button. A function
 * is called only on a click: a text of several MB is then put together when it is wanted.
 */
export function CopyButton({ text, what }: { text: string | (() => string); what: string }) {
  const said = useSignal<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(typeof text === 'function' ? text() : text);
      said.value = 'Copied';
    } catch {
      said.value = 'The browser refused the clipboard';
    }
    setTimeout(() => {
      said.value = null;
    }, 3000);
  }
  return (
    <span class="copy">
      <button type="button" class="button-quiet" onClick={() => void copy()} aria-label={`Copy ${what}`}>
        Copy
      </button>
      <span role="status" class="cell-sub">
        {said.value}
      </span>
    </span>
  );
}
