import type { ComponentChildren } from 'preact';

/** A message across the page; `role="status"` so screen readers announce it without stealing focus. */
export function Banner({
  tone,
  children,
}: {
  tone: 'warning' | 'error' | 'info';
  children: ComponentChildren;
}) {
  return (
    <div class={`banner banner-${tone}`} role="status">
      {children}
    </div>
  );
}
