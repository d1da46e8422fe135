import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client';
import { addressOf, type Connection, type ConnectionList, KIND_LABELS } from '../api/config';
import { Banner } from '../components/banner';
import { ConnectionLastTest } from '../components/connection-last-test';
import { ConnectionTest } from '../components/connection-test';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { createPoller } from '../state/poller';
import { canOperate, isAdmin } from '../state/roles';
import { ConnectionDialog, DeleteConnectionDialog } from './connection-dialogs';
import '../components/stacked-table.css';
import './config-pages.css';

type Open =
  | { kind: 'create' }
  | { kind: 'edit'; connection: Connection }
  | { kind: 'delete'; connection: Connection }
  | null;

/**
 * Connections: the queue backends hosts reach, kept centrally (GET /api/connections). Everyone
 * reads them, never their secrets; admins add, change and delete them; "Test" asks a live host to
 * reach one now, and "Last test" shows what the latest test found, whoever ran it.
 */
export function Connections() {
  const location = useLocation();
  const cursor = location.query.cursor?.trim() || undefined;
  const poller = useMemo(
    () =>
      createPoller<ConnectionList>((headers) =>
        api.api.connections.$get({ query: cursor === undefined ? {} : { cursor } }, { headers }),
      ),
    [cursor],
  );
  useEffect(() => poller.start(), [poller]);
  const list = poller.data.value;
  const error = poller.error.value;
  const now = poller.serverTime.value ?? Date.now();
  const open = useSignal<Open>(null);
  const said = useSignal<string | null>(null);
  const admin = isAdmin.value;

  function done(text: string) {
    said.value = text;
    open.value = null;
    poller.refresh();
  }

  return (
    <section aria-labelledby="connections-title">
      <div class="config-head">
        <h1 id="connections-title">Connections</h1>
        {admin && (
          <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
            Add connection
          </button>
        )}
      </div>
      <p class="config-intro">
        The Redis and Postgres servers that hosts run supervisors against. Passwords are stored encrypted and
        never shown.
      </p>
      {said.value && (
        <p class="outcome outcome-ok" role="status">
          {said.value}
        </p>
      )}
      {error !== null && (
        <Banner tone={list ? 'warning' : 'error'}>
          <strong>{list ? 'Connection lost, retrying.' : 'Cannot load the connections, retrying.'}</strong>{' '}
          {error}
        </Banner>
      )}
      {list === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {list.connections.length === 0 ? (
            <p class="empty">
              No connections yet.{admin && ' Add one to run supervisors from the dashboard.'}
            </p>
          ) : (
            <TableScroll label="Connections">
              <table class="stacked-table config-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Address</th>
                    <th scope="col">TLS</th>
                    <th scope="col">Prefix</th>
                    <th scope="col">Password</th>
                    <th scope="col">Version</th>
                    <th scope="col">Updated</th>
                    <th scope="col">Last test</th>
                    {canOperate.value && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {list.connections.map((connection) => (
                    <ConnectionRow
                      key={connection.id}
                      connection={connection}
                      now={now}
                      admin={admin}
                      operate={canOperate.value}
                      onEdit={() => (open.value = { kind: 'edit', connection })}
                      onDelete={() => (open.value = { kind: 'delete', connection })}
                      onTested={() => poller.refresh()}
                    />
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          <nav class="pager" aria-label="Pages of connections">
            {cursor && (
              <a href="/connections" class="button">
                ← First page
              </a>
            )}
            {list.nextCursor && (
              <a
                href={`/connections?cursor=${encodeURIComponent(list.nextCursor)}`}
                class="button"
                rel="next"
              >
                Next page →
              </a>
            )}
          </nav>
        </div>
      )}
      <ConnectionDialog
        open={open.value?.kind === 'create' || open.value?.kind === 'edit'}
        connection={open.value?.kind === 'edit' ? open.value.connection : null}
        onClose={() => (open.value = null)}
        onSaved={(connection, created) =>
          done(
            created
              ? `Added ${connection.name}.`
              : `Saved ${connection.name} (version ${connection.version}).`,
          )
        }
      />
      <DeleteConnectionDialog
        connection={open.value?.kind === 'delete' ? open.value.connection : null}
        onClose={() => (open.value = null)}
        onDeleted={(connection) => done(`Deleted ${connection.name}.`)}
      />
    </section>
  );
}

function ConnectionRow({
  connection,
  now,
  admin,
  operate,
  onEdit,
  onDelete,
  onTested,
}: {
  connection: Connection;
  now: number;
  admin: boolean;
  operate: boolean;
  onEdit: () => void;
  onDelete: () => void;
  onTested: () => void;
}) {
  const secretSet = connection.kind === 'postgres' ? connection.hasUrl : connection.hasPassword;
  return (
    <tr data-connection={connection.name}>
      <td class="cell-text stack-title" data-label="Name">
        <span class="cell-main config-whole">{connection.name}</span>
      </td>
      <td class="stack-aside" data-label="Kind">
        <span class="kind-badge">{KIND_LABELS[connection.kind]}</span>
      </td>
      <td class="cell-text config-address" data-label="Address">
        <span>{addressOf(connection)}</span>
      </td>
      <td data-label="TLS">{connection.kind === 'postgres' ? '–' : connection.tls ? 'yes' : 'no'}</td>
      <td class="cell-text" data-label="Prefix">
        <span class="config-words">
          {connection.kind === 'postgres' ? '–' : (connection.keyPrefix ?? 'bull (default)')}
        </span>
      </td>
      <td data-label={connection.kind === 'postgres' ? 'URL' : 'Password'}>
        {connection.kind === 'postgres' ? (secretSet ? 'URL set' : 'no URL') : secretSet ? 'set' : 'none'}
      </td>
      <td class="numeric" data-label="Version">
        {connection.version}
      </td>
      <td class="cell-text" data-label="Updated">
        <span>
          <RelativeTime at={connection.updatedAt} now={now} />
          <span class="cell-sub config-words"> by {connection.updatedBy}</span>
        </span>
      </td>
      <td class="cell-text config-last-test" data-label="Last test">
        <ConnectionLastTest test={connection.lastTest} now={now} />
      </td>
      {operate && (
        <td class="config-actions stack-bare" data-label="Actions">
          <div class="config-buttons">
            <ConnectionTest connection={connection} onTested={onTested} />
            {admin && (
              <>
                <button type="button" aria-label={`Edit ${connection.name}`} onClick={onEdit}>
                  Edit
                </button>
                <button
                  type="button"
                  class="button-danger-quiet"
                  aria-label={`Delete ${connection.name}`}
                  onClick={onDelete}
                >
                  Delete
                </button>
              </>
            )}
          </div>
        </td>
      )}
    </tr>
  );
}
