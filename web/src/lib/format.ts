const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** How sure a count is, as the API says: `lower_bound` and `estimated` list the keys that are not exact. */
export type Certainty = 'exact' | 'lower_bound' | 'estimated';

/** "1,234", "1,000+" (at least that many) or "≈ 1.2M" (the planner's estimate). */
export function formatCount(value: number, certainty: Certainty = 'exact'): string {
  if (certainty === 'lower_bound') return `${whole.format(value)}+`;
  if (certainty === 'estimated') return `≈ ${compact.format(value)}`;
  return whole.format(value);
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; a time ahead of `now` (clock skew) reads "just now". */
export function formatAge(at: number, now: number): string {
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatAbsolute(at: number): string {
  return absolute.format(at);
}
