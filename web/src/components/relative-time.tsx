import { formatAbsolute, formatAge } from '../lib/format';

/** "12 s ago", with the local date and time on hover and for assistive technology. */
export function RelativeTime({ at, now }: { at: string | null; now: number }) {
  if (at === null) return <span>–</span>;
  const time = Date.parse(at);
  if (Number.isNaN(time)) return <span>–</span>;
  return (
    <time dateTime={at} title={formatAbsolute(time)}>
      {formatAge(time, now)}
    </time>
  );
}
