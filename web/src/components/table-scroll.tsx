import type { ComponentChildren } from 'preact';

/**
 * A wide table that scrolls sideways on a narrow screen. Focusable, so the keyboard can scroll it
 * too, and labelled, so a screen reader says what the focused region is.
 */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // A labelled <section> is a region landmark.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard.
    <section class="table-scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
