import { computed, effect, signal } from '@preact/signals';

/** Choices the user makes once and keeps: kept in localStorage, read defensively. */
function stored<T extends string>(key: string, allowed: readonly T[], fallback: T) {
  let initial = fallback;
  try {
    const value = localStorage.getItem(key);
    if (value !== null && (allowed as readonly string[]).includes(value)) initial = value as T;
  } catch {
    // storage blocked: the default for this visit
  }
  const value = signal<T>(initial);
  effect(() => {
    try {
      localStorage.setItem(key, value.value);
    } catch {
      // storage blocked or full: the choice lasts this visit
    }
  });
  return value;
}

export const POLL_INTERVALS = ['3', '10', '30', '60'] as const;
export const pollIntervalSeconds = stored('watchtower.poll', POLL_INTERVALS, '3');
export const pollIntervalMs = {
  peek: (): number => Number(pollIntervalSeconds.peek()) * 1000,
};

export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];
export const theme = stored<Theme>('watchtower.theme', THEMES, 'system');

// "system" follows prefers-color-scheme in CSS; a choice overrides it through data-theme.
effect(() => {
  const root = document.documentElement;
  if (theme.value === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme.value;
});

/**
 * Whether the system asks for dark now. It changes while a page is open (a laptop switching to dark
 * at sunset): CSS follows on its own, canvases drawn with the colours of the moment (charts) read
 * this to redraw.
 */
const darkQuery = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
const systemDark = signal(darkQuery?.matches ?? false);
darkQuery?.addEventListener('change', (event) => {
  systemDark.value = event.matches;
});

/** The theme on screen: the user's choice, or the system's under "system". */
export const shownTheme = computed<'light' | 'dark'>(() =>
  theme.value === 'system' ? (systemDark.value ? 'dark' : 'light') : theme.value,
);
