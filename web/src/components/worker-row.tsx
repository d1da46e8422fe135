import { useEffect, useRef } from 'preact/hooks';
import { api } from '../api/client';
import type { Worker } from '../api/workers';
import { formatBytes } from '../lib/bytes';
import { formatCount } from '../lib/format';
import { CommandButton, CommandOutcome, ConfirmedStatus, useCommandTracker } from './command-button';
import { RelativeTime } from './relative-time';

type Verb = 'stop' | 'pause' | 'resume' | 'restart';

/** The actions that make sense from a confirmed status; a stopped worker is started by restart. */
const ACTIONS: Record<Worker['status'], ReadonlyArray<[Verb, string, string]>> = {
  running: [
    ['pause', 'Pause', 'pausing'],
    ['stop', 'Stop', 'stopping'],
    ['restart', 'Restart', 'restarting'],
  ],
  paused: [
    ['resume', 'Resume', 'resuming'],
    ['stop', 'Stop', 'stopping'],
    ['restart', 'Restart', 'restarting'],
  ],
  starting: [['stop', 'Stop', 'stopping']],
  restarting: [['stop', 'Stop', 'stopping']],
  stopping: [['restart', 'Restart', 'restarting']],
  stopped: [['restart', 'Start', 'starting']],
  dead: [],
};

/** One worker process: what its host confirmed, and (operators) its controls. */
export function WorkerRow({
  worker,
  now,
  highlighted,
  canAct,
  onChanged,
}: {
  worker: Worker;
  now: number;
  highlighted: boolean;
  canAct: boolean;
  onChanged: () => void;
}) {
  const tracker = useCommandTracker(onChanged);
  const row = useRef<HTMLTableRowElement>(null);
  // A link to this worker (from a job's page) brings it into view once.
  useEffect(() => {
    if (highlighted) row.current?.scrollIntoView({ block: 'center' });
  }, [highlighted]);
  const short = worker.workerId.slice(0, 8);
  return (
    <tr
      ref={row}
      data-worker-id={worker.workerId}
      data-status={worker.status}
      class={highlighted ? 'highlight' : undefined}
      aria-current={highlighted ? 'true' : undefined}
    >
      <th scope="row" class="cell-text">
        <code class="cell-main" title={worker.workerId}>
          {short}
        </code>
        <span class="cell-sub">pid {worker.pid ?? '–'}</span>
      </th>
      <td class="cell-text">{worker.queue}</td>
      <td>
        <ConfirmedStatus status={worker.status} listPending={worker.pending} tracked={tracker.state.value} />
        {worker.lastError !== null && (
          <span class="cell-sub cell-error" title={worker.lastError}>
            {worker.lastError}
          </span>
        )}
      </td>
      <td>
        <RelativeTime at={worker.lastHeartbeat} now={now} />
      </td>
      <td class="cell-text">
        {worker.currentJob === null ? (
          '–'
        ) : worker.currentJobRowId === null ? (
          <span title="Not recorded yet">#{worker.currentJob}</span>
        ) : (
          <a href={`/jobs/${worker.currentJobRowId}`}>#{worker.currentJob}</a>
        )}
      </td>
      <td class="numeric">{formatBytes(worker.memoryBytes)}</td>
      <td class="numeric">{formatCount(worker.jobsProcessed)}</td>
      <td class="numeric">{formatCount(worker.jobsFailed)}</td>
      {canAct && (
        <td class="cell-actions">
          <div class="actions">
            {ACTIONS[worker.status].map(([verb, label, pendingLabel]) => (
              <CommandButton
                key={verb}
                tracker={tracker}
                label={label}
                pendingLabel={pendingLabel}
                accessibleName={`${label} worker ${short}`}
                send={() => api.api.workers[':id'][verb].$post({ param: { id: worker.workerId }, query: {} })}
              />
            ))}
          </div>
          <CommandOutcome state={tracker.state.value} />
        </td>
      )}
    </tr>
  );
}
