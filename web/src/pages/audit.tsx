import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { AuditEntry, AuditList } from '../api/admin';
import { api } from '../api/client';
import { Banner } from '../components/banner';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import {
  ACTOR_KINDS,
  type AuditFilters,
  auditUrl,
  KNOWN_ACTIONS,
  RESULTS,
  readAuditFilters,
} from '../lib/audit-filters';
import { formatAbsolute } from '../lib/format';
import { fromLocalInput, toLocalInput } from '../lib/job-filters';
import { createPoller } from '../state/poller';
import '../components/stacked-table.css';
import './audit.css';

/**
 * The audit log: every change made through the API, newest first, filtered by actor, action,
 * target, result and time (all in the URL), paged by cursor, polled live. Everything recorded
 * (names, emails typed at sign-in, user agents, details) is shown as text and wraps in place.
 */
export function Audit() {
  const location = useLocation();
  const filters = readAuditFilters(location.query);
  const key = auditUrl(filters);
  const poller = useMemo(
    () => createPoller<AuditList>((headers) => api.api.audit.$get({ query: filters }, { headers })),
    [key],
  );
  useEffect(() => poller.start(), [poller]);
  const list = poller.data.value;
  const error = poller.error.value;
  const now = poller.serverTime.value ?? Date.now();

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <AuditFilterForm key={key} filters={filters} onApply={(next) => location.route(auditUrl(next))} />
      {error !== null && (
        <Banner tone={list ? 'warning' : 'error'}>
          <strong>{list ? 'Connection lost, retrying.' : 'Cannot load the audit log, retrying.'}</strong>{' '}
          {error}
        </Banner>
      )}
      {list === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {list.entries.length === 0 ? (
            <p class="empty">No audit entry matches these filters.</p>
          ) : (
            <AuditTable entries={list.entries} filters={filters} now={now} />
          )}
          <nav class="pager" aria-label="Pages of audit entries">
            {filters.cursor && (
              <a href={auditUrl({ ...filters, cursor: undefined })} class="button">
                ← Newest
              </a>
            )}
            {list.nextCursor && (
              <a href={auditUrl({ ...filters, cursor: list.nextCursor })} class="button" rel="next">
                Older →
              </a>
            )}
          </nav>
        </div>
      )}
    </section>
  );
}

function AuditFilterForm({
  filters,
  onApply,
}: {
  filters: AuditFilters;
  onApply: (filters: AuditFilters) => void;
}) {
  function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    // A new filter starts from the newest entries.
    onApply({
      action: text('action'),
      actor: text('actor'),
      actorKind: ACTOR_KINDS.find((kind) => kind === text('actorKind')),
      actorId: text('actorId'),
      targetType: text('targetType'),
      targetId: text('targetId'),
      result: RESULTS.find((result) => result === text('result')),
      from: fromLocalInput(String(form.get('from') ?? '')),
      to: fromLocalInput(String(form.get('to') ?? '')),
      limit: filters.limit,
    });
  }
  return (
    <form class="filters card" onSubmit={submit} aria-label="Filter the audit log">
      <label>
        Action
        <input
          name="action"
          list="audit-actions"
          defaultValue={filters.action ?? ''}
          placeholder="users.create"
        />
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((action) => (
            <option key={action} value={action} />
          ))}
        </datalist>
      </label>
      <label>
        Actor
        <input
          name="actor"
          defaultValue={filters.actor ?? ''}
          placeholder="ada@example.com"
          autoComplete="off"
        />
      </label>
      <label>
        Actor kind
        {/* Preact 11 has no defaultValue for <select>: the URL's choice marks its option selected. */}
        <select name="actorKind">
          <option value="">any</option>
          {ACTOR_KINDS.map((kind) => (
            <option key={kind} value={kind} selected={kind === filters.actorKind}>
              {kind}
            </option>
          ))}
        </select>
      </label>
      {/* Set by selecting an actor in the table; shown then, so it can be seen and cleared. */}
      {filters.actorId !== undefined && (
        <label>
          Actor id
          <input name="actorId" defaultValue={filters.actorId} />
        </label>
      )}
      <label>
        Target type
        <input name="targetType" defaultValue={filters.targetType ?? ''} placeholder="user" />
      </label>
      <label>
        Target id
        <input name="targetId" defaultValue={filters.targetId ?? ''} />
      </label>
      <label>
        Result
        <select name="result">
          <option value="">any</option>
          {RESULTS.map((result) => (
            <option key={result} value={result} selected={result === filters.result}>
              {result}
            </option>
          ))}
        </select>
      </label>
      <label>
        From
        <input name="from" type="datetime-local" defaultValue={toLocalInput(filters.from)} />
      </label>
      <label>
        Until
        <input name="to" type="datetime-local" defaultValue={toLocalInput(filters.to)} />
      </label>
      <p class="hint">Select an actor, action or target in the table to show only its entries.</p>
      <div class="filter-actions">
        <button type="submit" class="button-primary">
          Apply
        </button>
        <a href="/audit" class="button">
          Clear
        </a>
      </div>
    </form>
  );
}

/** Details as one line of JSON text; a recorded string stays a string. */
function detailsText(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details === 'string') return details;
  return JSON.stringify(details) ?? '';
}

function AuditTable({
  entries,
  filters,
  now,
}: {
  entries: AuditEntry[];
  filters: AuditFilters;
  now: number;
}) {
  // Links keep the time range and narrow by one more field, from the newest entries.
  const narrow = (more: AuditFilters) => auditUrl({ ...filters, cursor: undefined, ...more });
  return (
    <TableScroll label="Audit entries">
      <table class="audit-table stacked-table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Result</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => {
            const details = detailsText(entry.details);
            const kind = ACTOR_KINDS.find((known) => known === entry.actor.kind);
            return (
              <tr key={entry.id} data-audit-id={entry.id}>
                <td class="audit-when stack-title" data-label="When">
                  <RelativeTime at={entry.at} now={now} />
                </td>
                <td class="cell-text" data-label="Actor">
                  <a
                    class="cell-main audit-clamp"
                    href={narrow({ actorKind: kind, actorId: entry.actor.id || undefined })}
                    title="Only this actor's entries"
                  >
                    {entry.actor.name || entry.actor.id || 'anonymous'}
                  </a>
                  <span class="cell-sub">{entry.actor.kind}</span>
                </td>
                <td class="cell-text audit-action" data-label="Action">
                  <a class="audit-clamp" href={narrow({ action: entry.action })} title="Only this action">
                    {entry.action}
                  </a>
                </td>
                <td class="cell-text" data-label="Target">
                  <a
                    class="audit-clamp"
                    href={narrow({ targetType: entry.target.type, targetId: entry.target.id ?? undefined })}
                    title="Only this target's entries"
                  >
                    {entry.target.type}
                  </a>
                  {entry.target.id !== null && <span class="cell-sub audit-clamp">{entry.target.id}</span>}
                </td>
                <td class="stack-aside" data-label="Result">
                  <span class={`status audit-result-${entry.result}`}>{entry.result}</span>
                </td>
                <td class="cell-text audit-details" data-label="Details">
                  {details && <span class="audit-clamp">{details}</span>}
                  <EntryMore entry={entry} details={details} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableScroll>
  );
}

/**
 * Where the change came from and the whole of its details, folded away until asked for, in one box
 * that scrolls: a 2,000-character user agent or actor id never makes the row taller than the box.
 */
function EntryMore({ entry, details }: { entry: AuditEntry; details: string }) {
  return (
    <details class="audit-more">
      <summary>More</summary>
      {/* A labelled <section> is a region landmark. */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard. */}
      <section class="audit-more-body" tabIndex={0} aria-label={`Entry ${entry.id} in full`}>
        <dl>
          <dt>Time</dt>
          <dd>{formatAbsolute(Date.parse(entry.at))}</dd>
          <dt>Actor id</dt>
          <dd>{entry.actor.id || '–'}</dd>
          <dt>Address</dt>
          <dd>{entry.ip ?? '–'}</dd>
          <dt>User agent</dt>
          <dd>{entry.userAgent ?? '–'}</dd>
          {entry.commandId !== null && (
            <>
              <dt>Command</dt>
              <dd>{entry.commandId}</dd>
            </>
          )}
        </dl>
        {details && <pre>{JSON.stringify(entry.details, null, 2)}</pre>}
      </section>
    </details>
  );
}
