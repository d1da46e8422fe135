import { useSignal } from '@preact/signals';
import { useId } from 'preact/hooks';
import { api } from '../api/client';
import type { Supervisor, SupervisorInstance, Worker } from '../api/workers';
import { CommandButton, CommandOutcome, ConfirmedStatus, useCommandTracker } from './command-button';
import { ScaleForm } from './scale-form';
import { TableScroll } from './table-scroll';
import { WorkerRow } from './worker-row';

/** The processes a supervisor keeps on one host: the sizes of its pools. */
function targetOf(instance: SupervisorInstance | undefined): number {
  return Object.values(instance?.processes ?? {}).reduce((sum, n) => sum + n, 0);
}

/**
 * One supervisor on one host, its controls (operators) and its worker processes. A supervisor is
 * addressed by name: with the same name on several hosts, one of them carries out scale, pause and
 * continue (the API's rule), which the panel says.
 */
export function SupervisorPanel({
  name,
  hostId,
  supervisor,
  workers,
  now,
  highlightWorker,
  canAct,
  onChanged,
}: {
  name: string;
  hostId: string;
  /** The supervisor over all live hosts; missing when only its worker rows remain. */
  supervisor: Supervisor | undefined;
  workers: Worker[];
  now: number;
  highlightWorker: string | undefined;
  canAct: boolean;
  onChanged: () => void;
}) {
  const tracker = useCommandTracker(onChanged);
  const titleId = useId();
  const instance = supervisor?.instances.find((candidate) => candidate.hostId === hostId);
  const queues = instance?.queues ?? [...new Set(workers.map((worker) => worker.queue))];
  const startQueue = useSignal(queues[0] ?? '');
  const hosts = supervisor?.instances.length ?? 1;
  const target = targetOf(instance);
  const limits =
    instance && instance.minProcesses !== null && instance.maxProcesses !== null
      ? `, min ${instance.minProcesses}, max ${instance.maxProcesses}`
      : '';
  return (
    <section class="supervisor" aria-labelledby={titleId} data-supervisor={name}>
      <div class="supervisor-head">
        <h3 id={titleId} class="cell-text">
          {name}{' '}
          <ConfirmedStatus
            status={instance?.status ?? 'unknown'}
            listPending={supervisor?.pending ?? null}
            tracked={tracker.state.value}
          />
        </h3>
        <p class="cell-sub supervisor-summary">
          {queues.join(', ') || 'no queues'} on {instance?.connection ?? workers[0]?.connection ?? '–'} ·{' '}
          <span data-processes={workers.length}>
            {workers.length} {workers.length === 1 ? 'process' : 'processes'}
          </span>{' '}
          (target {target}
          {limits}){hosts > 1 && ` · also on ${hosts - 1} other host${hosts > 2 ? 's' : ''}`}
        </p>
      </div>
      {canAct && supervisor && (
        <div class="supervisor-actions">
          <ScaleForm key={target} name={name} current={target} tracker={tracker} />
          <div class="actions">
            <CommandButton
              tracker={tracker}
              label="Pause all"
              pendingLabel="pausing"
              accessibleName={`Pause all of supervisor ${name}`}
              send={() => api.api.supervisors[':name'].pause.$post({ param: { name }, query: {} })}
            />
            <CommandButton
              tracker={tracker}
              label="Continue all"
              pendingLabel="continuing"
              accessibleName={`Continue all of supervisor ${name}`}
              send={() => api.api.supervisors[':name'].continue.$post({ param: { name }, query: {} })}
            />
            {queues.length > 1 && (
              <label>
                <span class="control-label">Queue</span>
                <select
                  value={startQueue.value}
                  onChange={(event) => {
                    startQueue.value = event.currentTarget.value;
                  }}
                >
                  {queues.map((queue) => (
                    <option key={queue}>{queue}</option>
                  ))}
                </select>
              </label>
            )}
            {queues.length > 0 && (
              <CommandButton
                tracker={tracker}
                label="Start a worker"
                pendingLabel="starting a worker"
                accessibleName={`Start a worker in supervisor ${name}`}
                send={() =>
                  api.api.workers.$post({
                    query: {},
                    json: { queue: startQueue.value || (queues[0] ?? ''), supervisor: name, host: hostId },
                  })
                }
              />
            )}
          </div>
          {hosts > 1 && <p class="hint">Scale, pause and continue go to one of its {hosts} hosts.</p>}
          <CommandOutcome state={tracker.state.value} />
        </div>
      )}
      {workers.length === 0 ? (
        <p class="empty">No worker process.</p>
      ) : (
        <TableScroll label={`Worker processes of ${name}`}>
          <table class="workers-table">
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Queue</th>
                <th scope="col">Status</th>
                <th scope="col">Heartbeat</th>
                <th scope="col">Current job</th>
                <th scope="col" class="numeric">
                  Memory
                </th>
                <th scope="col" class="numeric">
                  Processed
                </th>
                <th scope="col" class="numeric">
                  Failed
                </th>
                {canAct && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {workers.map((worker) => (
                <WorkerRow
                  key={worker.workerId}
                  worker={worker}
                  now={now}
                  highlighted={worker.workerId === highlightWorker}
                  canAct={canAct}
                  onChanged={onChanged}
                />
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
