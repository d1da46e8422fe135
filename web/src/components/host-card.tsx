import { useId } from 'preact/hooks';
import { api } from '../api/client';
import type { Host, Supervisor, Worker } from '../api/workers';
import { formatBytes } from '../lib/bytes';
import { CommandButton, CommandOutcome, ConfirmedStatus, useCommandTracker } from './command-button';
import { RelativeTime } from './relative-time';
import { SupervisorPanel } from './supervisor-panel';

/** A live host and the worker processes its latest heartbeat listed. */
export interface HostView {
  host: Host;
  workers: Worker[];
}

/** The supervisors of a host: those it reports, and any its worker rows name besides. */
function supervisorNames(view: HostView, supervisors: Supervisor[]): string[] {
  const names = new Set<string>();
  for (const supervisor of supervisors)
    if (supervisor.instances.some((instance) => instance.hostId === view.host.hostId))
      names.add(supervisor.name);
  for (const worker of view.workers) names.add(worker.supervisor);
  return [...names].sort();
}

/** One host: what its heartbeat says, its controls (operators), then its supervisors. */
export function HostCard({
  view,
  supervisors,
  now,
  highlightWorker,
  canAct,
  onChanged,
}: {
  view: HostView;
  supervisors: Supervisor[];
  now: number;
  highlightWorker: string | undefined;
  canAct: boolean;
  onChanged: () => void;
}) {
  const tracker = useCommandTracker(onChanged);
  const titleId = useId();
  const { host } = view;
  const { hostId, hostname } = host;
  const live = host.status === 'running' || host.status === 'paused';
  const names = supervisorNames(view, supervisors);
  return (
    <section class="card host" aria-labelledby={titleId} data-host-id={hostId}>
      <div class="host-head">
        <h2 id={titleId} class="cell-text">
          {hostname}{' '}
          <ConfirmedStatus status={host.status} listPending={host.pending} tracked={tracker.state.value} />
        </h2>
        {canAct && live && (
          <div class="actions">
            <CommandButton
              tracker={tracker}
              label="Reload"
              pendingLabel="reloading"
              accessibleName={`Reload host ${hostname}`}
              send={() => api.api.hosts[':id'].reload.$post({ param: { id: hostId }, query: {} })}
            />
            <CommandButton
              tracker={tracker}
              label="Restart"
              pendingLabel="restarting"
              accessibleName={`Restart host ${hostname}`}
              confirm={{
                title: `Restart every worker process of ${hostname}?`,
                body: <p>Each one finishes its current jobs (within its grace period), then starts again.</p>,
              }}
              send={() => api.api.hosts[':id'].restart.$post({ param: { id: hostId }, query: {} })}
            />
            <CommandButton
              tracker={tracker}
              label="Terminate"
              pendingLabel="terminating"
              accessibleName={`Terminate host ${hostname}`}
              confirm={{
                title: `Terminate ${hostname}?`,
                body: (
                  <p>
                    The host stops taking jobs, lets its worker processes finish their current ones, and
                    exits. Only whatever runs it (systemd, a container) can start it again.
                  </p>
                ),
              }}
              send={() =>
                api.api.hosts[':id'].terminate.$post({ param: { id: hostId }, query: {}, json: {} })
              }
            />
          </div>
        )}
      </div>
      <dl class="host-facts">
        <div>
          <dt>Heartbeat</dt>
          <dd>
            <RelativeTime at={host.lastHeartbeat} now={now} />
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            <RelativeTime at={host.startedAt} now={now} />
          </dd>
        </div>
        <div>
          <dt>Pid</dt>
          <dd>{host.pid}</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>{formatBytes(host.memoryBytes)}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd class="cell-text">{host.version}</dd>
        </div>
        <div>
          <dt>Labels</dt>
          <dd class="cell-text">{host.labels.join(', ') || '–'}</dd>
        </div>
        <div>
          <dt>Configuration</dt>
          <dd class="cell-text">{configurationText(host)}</dd>
        </div>
        <div>
          <dt>Connections</dt>
          <dd class="cell-text">{host.connections.join(', ') || '–'}</dd>
        </div>
        <div>
          <dt>Host id</dt>
          <dd class="cell-text">
            <code>{hostId}</code>
          </dd>
        </div>
      </dl>
      {host.configDrift && (
        <p class="host-drift" role="status">
          <strong>Configuration drift:</strong> {driftText(host)}
        </p>
      )}
      {canAct && <CommandOutcome state={tracker.state.value} />}
      {names.length === 0 ? (
        <p class="empty">This host runs no supervisor.</p>
      ) : (
        names.map((name) => (
          <SupervisorPanel
            key={name}
            name={name}
            hostId={hostId}
            supervisor={supervisors.find((supervisor) => supervisor.name === name)}
            workers={view.workers.filter((worker) => worker.supervisor === name)}
            now={now}
            highlightWorker={highlightWorker}
            canAct={canAct && live}
            onChanged={onChanged}
          />
        ))
      )}
    </section>
  );
}

/** Which database configuration the host runs: its version, or that it takes none. */
function configurationText(host: Host): string {
  if (host.configVersion !== null) return `version ${host.configVersion}`;
  return host.configDrift ? 'none applied' : 'file only';
}

/** Why the host's configuration is not the current one, in the words of what to look at. */
function driftText(host: Host): string {
  if (host.configError !== null)
    return `the host could not apply the database configuration: ${host.configError}`;
  if (host.configVersion === null) return 'the host has not applied the database configuration yet.';
  return `the host runs configuration version ${host.configVersion}, not the current one; it applies changes within seconds, so a lasting difference means it cannot read them.`;
}
