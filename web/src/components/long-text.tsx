import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';

/** What is shown before "Show all": enough to read, small enough to lay out at once. */
export const PREVIEW_CHARACTERS = 10_000;

/**
 * A long text (a payload, a stack) in a <pre>, always as text. Past PREVIEW_CHARACTERS only the
 * start is laid out, with "Show all" and a download of the whole, so a payload of several MB opens
 * at once and the page never freezes.
 */
export function LongText({ text, label, fileName }: { text: string; label: string; fileName: string }) {
  const expanded = useSignal(false);
  const long = text.length > PREVIEW_CHARACTERS;
  const shown = long && !expanded.value ? text.slice(0, PREVIEW_CHARACTERS) : text;
  const download = useMemo(
    () => (long ? URL.createObjectURL(new Blob([text], { type: 'text/plain' })) : null),
    [text, long],
  );
  useEffect(() => () => (download ? URL.revokeObjectURL(download) : undefined), [download]);
  return (
    <div class="long-text">
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard. */}
      <section class="long-text-scroll" aria-label={label} tabIndex={0}>
        <pre>{shown}</pre>
      </section>
      {long && (
        <p class="long-text-actions">
          <span>
            Showing {shown.length.toLocaleString()} of {text.length.toLocaleString()} characters.
          </span>{' '}
          {!expanded.value && (
            <button type="button" onClick={() => (expanded.value = true)}>
              Show all
            </button>
          )}{' '}
          {download && (
            <a class="button" href={download} download={fileName}>
              Download
            </a>
          )}
        </p>
      )}
    </div>
  );
}
