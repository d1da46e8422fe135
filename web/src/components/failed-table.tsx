import { useEffect, useRef } from 'preact/hooks';
import type { FailedJob } from '../api/failed';
import type { JobAction } from '../lib/job-command';
import { RelativeTime } from './relative-time';
import { TableScroll } from './table-scroll';

/** The exception's first line: the list shows that much, the job's page all of it. */
export function firstLine(text: string | null): string {
  if (text === null) return '';
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

export interface FailedTableProps {
  jobs: FailedJob[];
  now: number;
  /** Operators and admins: checkboxes and actions; viewers see neither. */
  operate: boolean;
  selected: ReadonlySet<number>;
  /** Jobs with a command on its way: no second one until the host answered. */
  pending: ReadonlySet<number>;
  onSelect: (ids: number[], on: boolean) => void;
  onAction: (action: JobAction, job: FailedJob) => void;
}

/** The failed jobs of one page, each linking to its page, with its exception's first line as text. */
export function FailedTable({ jobs, now, operate, selected, pending, onSelect, onAction }: FailedTableProps) {
  const selectable = jobs.filter((job) => !pending.has(job.id)).map((job) => job.id);
  const chosen = selectable.filter((id) => selected.has(id)).length;
  return (
    <TableScroll label="Failed jobs">
      <table class="failed-table">
        <thead>
          <tr>
            {operate && (
              <th scope="col" class="select-cell">
                <SelectAll
                  checked={selectable.length > 0 && chosen === selectable.length}
                  mixed={chosen > 0 && chosen < selectable.length}
                  disabled={selectable.length === 0}
                  onChange={(on) => onSelect(selectable, on)}
                />
              </th>
            )}
            <th scope="col">Job and exception</th>
            {/* On a phone the rows become cards, each cell labelled by its data-label. */}
            <th scope="col" class="wide-only">
              Queue
            </th>
            <th scope="col" class="wide-only numeric">
              Attempts
            </th>
            <th scope="col" class="wide-only">
              Failed
            </th>
            {operate && (
              <th scope="col" class="wide-only">
                Actions
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const busy = pending.has(job.id);
            const label = `${job.name} #${job.jobId}`;
            return (
              <tr key={job.id} data-job-id={job.jobId} aria-busy={busy}>
                {operate && (
                  <td class="select-cell">
                    <input
                      type="checkbox"
                      aria-label={`Select ${label}`}
                      checked={selected.has(job.id) && !busy}
                      disabled={busy}
                      onChange={(event) => onSelect([job.id], event.currentTarget.checked)}
                    />
                  </td>
                )}
                <td class="cell-text failed-job">
                  <a class="cell-main" href={`/jobs/${job.id}`}>
                    {job.name}
                  </a>
                  <span class="cell-sub">#{job.jobId}</span>
                  {job.exception !== null && (
                    <span class="cell-sub cell-exception" title={job.exception}>
                      {firstLine(job.exception)}
                    </span>
                  )}
                </td>
                <td class="cell-text" data-label="Queue">
                  {job.queue}
                  <span class="cell-sub"> ({job.connection})</span>
                </td>
                <td class="numeric" data-label="Attempts">
                  {job.attempts} / {job.maxAttempts}
                </td>
                <td data-label="Failed">
                  <RelativeTime at={job.completedAt} now={now} />
                </td>
                {operate && (
                  <td class="row-actions">
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Retry ${label}`}
                      onClick={() => onAction('retry', job)}
                    >
                      Retry
                    </button>
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Delete ${label}`}
                      onClick={() => onAction('delete', job)}
                    >
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableScroll>
  );
}

/** "Select all on this page": checked, unchecked, or mixed when only some rows are selected. */
function SelectAll({
  checked,
  mixed,
  disabled,
  onChange,
}: {
  checked: boolean;
  mixed: boolean;
  disabled: boolean;
  onChange: (on: boolean) => void;
}) {
  const box = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (box.current) box.current.indeterminate = mixed;
  }, [mixed]);
  return (
    <input
      ref={box}
      type="checkbox"
      aria-label="Select all failed jobs on this page"
      checked={checked}
      disabled={disabled}
      onChange={(event) => onChange(event.currentTarget.checked)}
    />
  );
}
