import { type Signal, useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import './first-rows.css';

/** How many rows of a long list show before "Show all". */
export const FIRST_ROWS = 10;

/**
 * A long page of rows (the Alerts page's history and delivery log, 50 a page) shows its newest
 * FIRST_ROWS, so the sections below it are not buried: on a phone each row is a card and 50 of
 * them ran the page to some 16,000 px; on a desktop 50 rows still push Rules, Silences and
 * Channels a screen or two down, so it is the same on every screen. `page` is the list's cursor:
 * another page starts short again.
 */
export function useFirstRows<T>(
  rows: readonly T[],
  page: string | undefined,
): {
  shown: readonly T[];
  all: Signal<boolean>;
} {
  const all = useSignal(false);
  useEffect(() => {
    all.value = false;
  }, [page]);
  return { shown: all.value ? rows : rows.slice(0, FIRST_ROWS), all };
}

/**
 * The button under a list cut by useFirstRows: "Show all 50 events" reveals the rest in place and
 * moves the focus to the first row revealed (where the button was, and what comes next to read);
 * it then offers to show the newest only again, keeping the focus. None when nothing is cut.
 */
export function ShowAllRows({
  all,
  count,
  noun,
  controls,
}: {
  all: Signal<boolean>;
  count: number;
  /** What the rows are, plural ("events"): two lists on a page need buttons of different names. */
  noun: string;
  /** The id of the <tbody> whose rows are cut. */
  controls: string;
}) {
  const revealed = useRef(false);
  useEffect(() => {
    if (!revealed.current) return;
    revealed.current = false;
    const first = document.getElementById(controls)?.querySelectorAll('tr')[FIRST_ROWS];
    if (!first) return;
    // Focusable by script only, so Tab still goes from button to button.
    first.tabIndex = -1;
    first.focus();
  });
  if (count <= FIRST_ROWS) return null;
  const expanded = all.value;
  return (
    <div class="first-rows">
      <button
        type="button"
        aria-expanded={expanded}
        aria-controls={controls}
        onClick={() => {
          revealed.current = !expanded;
          all.value = !expanded;
        }}
      >
        {expanded ? `Show the newest ${FIRST_ROWS} only` : `Show all ${count} ${noun}`}
      </button>
    </div>
  );
}
