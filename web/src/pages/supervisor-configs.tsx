import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client';
import type { SupervisorConfig, SupervisorConfigList } from '../api/config';
import { Banner } from '../components/banner';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { createPoller } from '../state/poller';
import { isAdmin } from '../state/roles';
import { DeleteSupervisorConfigDialog, SupervisorConfigDialog } from './supervisor-config-dialogs';
import '../components/stacked-table.css';
import './config-pages.css';

type Open =
  | { kind: 'create' }
  | { kind: 'edit'; config: SupervisorConfig }
  | { kind: 'delete'; config: SupervisorConfig }
  | null;

/**
 * Supervisors kept in the database (GET /api/supervisors/configs): which queues, on which
 * connection, with how many processes, run by the hosts whose labels match. Everyone reads them;
 * admins add, change and delete them, and hosts apply each change within seconds.
 */
export function SupervisorConfigs() {
  const location = useLocation();
  const cursor = location.query.cursor?.trim() || undefined;
  const poller = useMemo(
    () =>
      createPoller<SupervisorConfigList>((headers) =>
        api.api.supervisors.configs.$get({ query: cursor === undefined ? {} : { cursor } }, { headers }),
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
    <section aria-labelledby="supervisors-title">
      <div class="config-head">
        <h1 id="supervisors-title">Supervisors</h1>
        {admin && (
          <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
            Add supervisor
          </button>
        )}
      </div>
      <p class="config-intro">
        Supervisors kept in the database: hosts whose labels match run them with the processor modules of
        their own processors directory, and apply every change within seconds.
        {list && ` Configuration version ${list.configVersion}.`}
      </p>
      {said.value && (
        <p class="outcome outcome-ok" role="status">
          {said.value}
        </p>
      )}
      {error !== null && (
        <Banner tone={list ? 'warning' : 'error'}>
          <strong>{list ? 'Connection lost, retrying.' : 'Cannot load the supervisors, retrying.'}</strong>{' '}
          {error}
        </Banner>
      )}
      {list === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {list.configs.length === 0 ? (
            <p class="empty">No supervisors kept in the database yet.</p>
          ) : (
            <TableScroll label="Supervisors">
              <table class="stacked-table config-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Connection</th>
                    <th scope="col">Queues</th>
                    <th scope="col">Processes</th>
                    <th scope="col">Balance</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Version</th>
                    <th scope="col">Updated</th>
                    {admin && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {list.configs.map((config) => (
                    <tr key={config.id} data-supervisor={config.name}>
                      <td class="cell-text stack-title" data-label="Name">
                        <span class="cell-main">{config.name}</span>
                      </td>
                      <td class="cell-text" data-label="Connection">
                        <span>{config.connection}</span>
                      </td>
                      <td class="cell-text" data-label="Queues">
                        <span>{config.queues.join(', ')}</span>
                      </td>
                      <td class="numeric" data-label="Processes">
                        {config.minProcesses}–{config.maxProcesses}
                      </td>
                      <td data-label="Balance">{config.balance}</td>
                      <td class="cell-text" data-label="Labels">
                        <span>{config.labels.length === 0 ? 'any host' : config.labels.join(', ')}</span>
                      </td>
                      <td class="numeric" data-label="Version">
                        {config.version}
                      </td>
                      <td class="cell-text" data-label="Updated">
                        <span>
                          <RelativeTime at={config.updatedAt} now={now} />
                          <span class="cell-sub"> by {config.updatedBy}</span>
                        </span>
                      </td>
                      {admin && (
                        <td class="config-actions stack-bare" data-label="Actions">
                          <div class="config-buttons">
                            <button
                              type="button"
                              aria-label={`Edit ${config.name}`}
                              onClick={() => (open.value = { kind: 'edit', config })}
                            >
                              Edit
                            </button>
                            <button
                              type="button"
                              class="button-danger-quiet"
                              aria-label={`Delete ${config.name}`}
                              onClick={() => (open.value = { kind: 'delete', config })}
                            >
                              Delete
                            </button>
                          </div>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          <nav class="pager" aria-label="Pages of supervisors">
            {cursor && (
              <a href="/supervisors" class="button">
                ← First page
              </a>
            )}
            {list.nextCursor && (
              <a
                href={`/supervisors?cursor=${encodeURIComponent(list.nextCursor)}`}
                class="button"
                rel="next"
              >
                Next page →
              </a>
            )}
          </nav>
        </div>
      )}
      <SupervisorConfigDialog
        open={open.value?.kind === 'create' || open.value?.kind === 'edit'}
        config={open.value?.kind === 'edit' ? open.value.config : null}
        onClose={() => (open.value = null)}
        onSaved={(config, created) =>
          done(created ? `Added ${config.name}.` : `Saved ${config.name} (version ${config.version}).`)
        }
      />
      <DeleteSupervisorConfigDialog
        config={open.value?.kind === 'delete' ? open.value.config : null}
        onClose={() => (open.value = null)}
        onDeleted={(config) => done(`Deleted ${config.name}.`)}
      />
    </section>
  );
}
