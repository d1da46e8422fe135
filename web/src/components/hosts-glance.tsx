import type { PollWorker } from '../api/client';
import type { HostInfo } from '../api/queues';
import { formatCount } from '../lib/format';
import { hostsPoll } from '../state/queues';
import { RelativeTime } from './relative-time';
import { TableScroll } from './table-scroll';
import './stacked-table.css';

interface HostLine {
  hostId: string;
  hostname: string;
  host: HostInfo | undefined;
  busy: number;
  idle: number;
  paused: number;
}

/**
 * Each worker process counted once, under its host: busy (running a job), idle (running, no job)
 * or paused. Counted from the same poll answer as the Overview's worker cards and table, so
 * busy + idle adds up to "Active workers" and paused to "Paused workers".
 */
function hostLines(hosts: HostInfo[], workers: PollWorker[]): HostLine[] {
  const lines = new Map<string, HostLine>();
  for (const host of hosts) {
    lines.set(host.hostId, {
      hostId: host.hostId,
      hostname: host.hostname,
      host,
      busy: 0,
      idle: 0,
      paused: 0,
    });
  }
  for (const worker of workers) {
    let line = lines.get(worker.hostId);
    if (!line) {
      // A host the hosts list no longer shows (it just stopped or died): its processes still count.
      line = {
        hostId: worker.hostId,
        hostname: worker.hostname ?? worker.hostId,
        host: undefined,
        busy: 0,
        idle: 0,
        paused: 0,
      };
      lines.set(worker.hostId, line);
    }
    if (worker.status === 'running') {
      if (worker.currentJob === null) line.idle++;
      else line.busy++;
    } else if (worker.status === 'paused') {
      line.paused++;
    }
  }
  return [...lines.values()];
}

/** "Hosts and worker processes at a glance": each host's status, heartbeat and processes. */
export function HostsGlance({ workers, activeWorkers }: { workers: PollWorker[]; activeWorkers: number }) {
  const data = hostsPoll.data.value;
  const error = hostsPoll.error.value;
  const now = hostsPoll.serverTime.value ?? Date.now();
  const lines = data === undefined ? [] : hostLines(data.hosts, workers);
  const counted = lines.reduce((sum, line) => sum + line.busy + line.idle, 0);
  return (
    <section class="card" aria-labelledby="hosts-glance-title">
      <h2 id="hosts-glance-title">Hosts and worker processes</h2>
      {data === undefined ? (
        error === null ? (
          <p class="loading">Loading…</p>
        ) : (
          <p class="empty">Cannot load the hosts, retrying ({error}).</p>
        )
      ) : lines.length === 0 ? (
        <p class="empty">No worker-host is running. Start one: `watchtower supervisor`.</p>
      ) : (
        <>
          <TableScroll label="Hosts">
            <table class="stacked-table stacked-narrow overview-table">
              <thead>
                <tr>
                  <th scope="col">Host</th>
                  <th scope="col">Status</th>
                  <th scope="col">Heartbeat</th>
                  <th scope="col" class="numeric">
                    Busy
                  </th>
                  <th scope="col" class="numeric">
                    Idle
                  </th>
                  <th scope="col" class="numeric">
                    Paused
                  </th>
                </tr>
              </thead>
              <tbody>
                {lines.map((line) => (
                  <tr key={line.hostId} data-host-id={line.hostId}>
                    <td class="cell-text stack-title" data-label="Host">
                      <a class="cell-main" href={`/workers?${new URLSearchParams({ host: line.hostId })}`}>
                        {line.hostname}
                      </a>
                      <span class="cell-sub">{line.hostId}</span>
                    </td>
                    <td class="stack-aside" data-label="Status">
                      {line.host ? (
                        <span class={`status status-${line.host.status}`}>{line.host.status}</span>
                      ) : (
                        <span class="status" title="The hosts list no longer shows this host">
                          not listed
                        </span>
                      )}
                    </td>
                    <td data-label="Heartbeat">
                      {line.host ? <RelativeTime at={line.host.lastHeartbeat} now={now} /> : '–'}
                    </td>
                    <td class="numeric" data-cell="busy" data-label="Busy">
                      {formatCount(line.busy)}
                    </td>
                    <td class="numeric" data-cell="idle" data-label="Idle">
                      {formatCount(line.idle)}
                    </td>
                    <td class="numeric" data-cell="paused" data-label="Paused">
                      {formatCount(line.paused)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {counted < activeWorkers && (
            <p class="cell-sub">
              Counts the first {formatCount(workers.length)} worker processes; {formatCount(activeWorkers)}{' '}
              are active in all.
            </p>
          )}
        </>
      )}
    </section>
  );
}
