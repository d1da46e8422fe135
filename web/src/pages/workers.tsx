import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { WorkersSnapshot } from '../api/workers';
import { Banner } from '../components/banner';
import { HostCard, type HostView } from '../components/host-card';
import { canOperate } from '../state/roles';
import { workersPoll } from '../state/workers';
import './workers.css';

/**
 * The live hosts, most recently heard from first (`?host=` keeps that one), each with the worker
 * processes its latest heartbeat listed. Rows a host no longer lists (removed by a scale down or a
 * reload) and rows of hosts that stopped are counted, not shown.
 */
function hostViews(
  snapshot: WorkersSnapshot,
  only: string | undefined,
): { views: HostView[]; hidden: number } {
  const views = new Map<string, HostView>();
  for (const host of snapshot.hosts.hosts)
    if (only === undefined || host.hostId === only) views.set(host.hostId, { host, workers: [] });
  let hidden = 0;
  for (const worker of snapshot.workers.workers) {
    if (only !== undefined && worker.hostId !== only) continue;
    const view = views.get(worker.hostId);
    if (view && worker.inLastHeartbeat) view.workers.push(worker);
    else hidden++;
  }
  return { views: [...views.values()], hidden };
}

/** Hosts, their supervisors and worker processes, polled live, with their controls for operators. */
export function Workers() {
  const { query } = useLocation();
  const onlyHost = query.host || undefined;
  const highlightWorker = query.worker || undefined;
  useEffect(() => workersPoll.start(), []);
  const data = workersPoll.data.value;
  const error = workersPoll.error.value;
  const now = workersPoll.serverTime.value ?? Date.now();
  const { views, hidden } = data ? hostViews(data, onlyHost) : { views: [], hidden: 0 };
  const refresh = () => workersPoll.refresh();

  return (
    <section aria-labelledby="workers-title" aria-busy={data === undefined && error === null}>
      <h1 id="workers-title">Workers</h1>
      {onlyHost !== undefined && (
        <p class="only-host">
          Showing host <code>{onlyHost}</code> only. <a href="/workers">Show every host</a>
        </p>
      )}
      {error !== null && data !== undefined && (
        <Banner tone="warning">
          <strong>Connection lost, retrying.</strong> What is below is from the last answer ({error}).
        </Banner>
      )}
      {error !== null && data === undefined && (
        <Banner tone="error">
          <strong>Cannot load the workers, retrying.</strong> {error}
        </Banner>
      )}
      {data === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : views.length === 0 ? (
        <p class="empty card">
          {onlyHost === undefined
            ? 'No worker-host is running. Start one next to your queues: `watchtower supervisor`.'
            : 'That host is not running (it stopped, or its heartbeats stopped).'}
        </p>
      ) : (
        <div class="hosts">
          {hidden > 0 && (
            <p class="hint" data-hidden-workers={hidden}>
              {hidden === 1
                ? '1 stopped worker process is not shown: its host no longer runs it.'
                : `${hidden} stopped worker processes are not shown: their hosts no longer run them.`}
            </p>
          )}
          {(data.hosts.truncated || data.workers.truncated) && (
            <p class="hint">
              Only the first {data.hosts.hosts.length} hosts and {data.workers.workers.length} worker
              processes are shown.
            </p>
          )}
          {views.map((view) => (
            <HostCard
              key={view.host.hostId}
              view={view}
              supervisors={data.supervisors.supervisors}
              now={now}
              highlightWorker={highlightWorker}
              canAct={canOperate.value}
              onChanged={refresh}
            />
          ))}
        </div>
      )}
    </section>
  );
}
