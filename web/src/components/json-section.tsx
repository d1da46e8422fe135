import { CopyButton } from './copy-button';
import { LongTextView, useLongText } from './long-text';

/**
 * A job's data or result as indented JSON text in its own card, with Copy. A value of several MB
 * opens at once: only its first screenful is formatted while the page opens (long-text.tsx).
 */
export function JsonSection({
  id,
  title,
  value,
  label,
  what,
  fileName,
  note,
  empty,
}: {
  id: string;
  title: string;
  value: unknown;
  /** The scrolling region's accessible name ("Job data"). */
  label: string;
  /** For the Copy button: "the data". */
  what: string;
  fileName: string;
  /** Said above the text (the recorder's cut, for instance). */
  note?: string | undefined;
  /** Shown when there is no value; without it the card is left out. */
  empty?: string;
}) {
  const state = useLongText(value ?? '', 'json');
  const none = value === null || value === undefined || value === '';
  if (none && empty === undefined) return null;
  return (
    <section class="card" aria-labelledby={id}>
      <div class="section-head">
        <h2 id={id}>{title}</h2>
        {!none && <CopyButton text={() => state.fullText()} what={what} />}
      </div>
      {note && <p class="hint">{note}</p>}
      {none ? <p class="empty">{empty}</p> : <LongTextView state={state} label={label} fileName={fileName} />}
    </section>
  );
}
