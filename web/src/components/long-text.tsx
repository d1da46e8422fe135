import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import {
  type FormattedText,
  formatText,
  jsonPieces,
  type Prefix,
  takePrefix,
  textPieces,
} from '../lib/text-pieces';
import './long-text.css';

/** What is shown before "Show all": enough to read, small enough to lay out at once. */
export const PREVIEW_CHARACTERS = 10_000;

export interface LongTextState {
  /** The first PREVIEW_CHARACTERS, made at once; `complete` when that is the whole text. */
  preview: Prefix;
  /** The whole text in blocks, made in slices after the page is shown (undefined until then). */
  formatted: FormattedText | undefined;
  /** The whole text as one string (for Copy): from the blocks when they are made. */
  fullText(): string;
}

/**
 * A long text's state for `source` (a string, or a value shown as indented JSON). Only the preview
 * is made while the page opens; the rest is made in slices of a few ms after it (text-pieces.ts),
 * so a payload of several MB never holds the page in one long task.
 */
export function useLongText(source: unknown, kind: 'text' | 'json'): LongTextState {
  const pieces = useMemo(
    () => () => (kind === 'json' ? jsonPieces(source) : textPieces(typeof source === 'string' ? source : '')),
    [source, kind],
  );
  const preview = useMemo(() => takePrefix(pieces(), PREVIEW_CHARACTERS), [pieces]);
  // Kept with the pieces it was made from: a new source never shows the old one's blocks.
  const made = useSignal<{ from: unknown; text: FormattedText } | undefined>(undefined);
  useEffect(() => {
    if (preview.complete) return;
    const stop = new AbortController();
    const type = kind === 'json' ? 'application/json' : 'text/plain';
    void formatText(pieces(), { type, signal: stop.signal }).then((text) => {
      if (text && !stop.signal.aborted) made.value = { from: pieces, text };
    });
    return () => stop.abort();
  }, [pieces, preview]);
  const formatted = made.value?.from === pieces ? made.value.text : undefined;
  return {
    preview,
    formatted,
    fullText() {
      if (preview.complete) return preview.text;
      if (formatted) return formatted.blocks.join('');
      return Array.from({ [Symbol.iterator]: pieces }).join('');
    },
  };
}

/** A long text (a stack, an exception) in a <pre>, always as text: see LongTextView. */
export function LongText({ text, label, fileName }: { text: string; label: string; fileName: string }) {
  const state = useLongText(text, 'text');
  return <LongTextView state={state} label={label} fileName={fileName} />;
}

/**
 * A long text in a scrolling box, always as text. Past PREVIEW_CHARACTERS only the start is laid
 * out, with "Show all" and a download of the whole once it is made. "Show all" puts the whole text
 * in the box as blocks of about 64 K characters that the browser lays out only when they scroll
 * into view (long-text.css): all of a 5 MB payload is there to read, scroll through, find in the
 * page and select, and showing it costs what the screenful costs.
 */
export function LongTextView({
  state,
  label,
  fileName,
}: {
  state: LongTextState;
  label: string;
  fileName: string;
}) {
  const expanded = useSignal(false);
  const { preview } = state;
  const { formatted } = state;
  const download = useMemo(() => (formatted ? URL.createObjectURL(formatted.blob) : null), [formatted]);
  useEffect(() => () => (download ? URL.revokeObjectURL(download) : undefined), [download]);
  const whole = expanded.value && formatted !== undefined;
  return (
    <div class="long-text">
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard. */}
      <section class="long-text-scroll" aria-label={label} tabIndex={0} aria-busy={expanded.value && !whole}>
        {whole ? (
          formatted.blocks.map((block, index) => (
            <pre
              // Blocks never move: the index is their identity.
              key={index}
              class="long-text-block"
              style={{ containIntrinsicBlockSize: `auto ${formatted.rows[index] ?? 1}lh` }}
            >
              {block}
            </pre>
          ))
        ) : (
          <pre>{preview.text}</pre>
        )}
      </section>
      {!preview.complete && (
        <p class="long-text-actions">
          <span>
            {whole
              ? `Showing all ${formatted.length.toLocaleString()} characters.`
              : formatted
                ? `Showing ${preview.text.length.toLocaleString()} of ${formatted.length.toLocaleString()} characters.`
                : `Showing the first ${preview.text.length.toLocaleString()} characters.`}
          </span>{' '}
          {!expanded.value && (
            <button type="button" onClick={() => (expanded.value = true)}>
              Show all
            </button>
          )}
          {expanded.value && !whole && <span role="status">Preparing the whole text…</span>}{' '}
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
