import { useLocation } from 'preact-iso';

/**
 * "← Newest" and "Older →" under the Alerts page's history or delivery log: the cursor goes into
 * the URL under `param` (the other section's stays), so a page can be linked, reloaded and gone
 * back to, and the other sections stay where they are.
 */
export function AlertsPager({
  param,
  nextCursor,
  label,
}: {
  param: 'history' | 'deliveries';
  nextCursor: string | null;
  label: string;
}) {
  const location = useLocation();
  const current = location.query[param]?.trim() || undefined;
  if (current === undefined && nextCursor === null) return null;
  const urlWith = (cursor: string | undefined): string => {
    const query = new URLSearchParams(location.query);
    if (cursor === undefined) query.delete(param);
    else query.set(param, cursor);
    const search = query.toString();
    return search === '' ? location.path : `${location.path}?${search}`;
  };
  return (
    <nav class="pager" aria-label={label}>
      {current !== undefined && (
        <a href={urlWith(undefined)} class="button">
          ← Newest
        </a>
      )}
      {nextCursor !== null && (
        <a href={urlWith(nextCursor)} class="button" rel="next">
          Older →
        </a>
      )}
    </nav>
  );
}
