import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { WorkersSnapshot } from '../api/workers';
import { Banner } from '../components/banner';
import { HostCard, type HostView } from '../components/host-card';
import { canOperate } from '../state/roles';
import { workersPoll } from '../state/workers';
import './workers.css';

/**
 * Hosts as the lists say, most recently heard from first; hosts that only their worker rows name
 * (stopped, or not reporting any more) come after. `?host=` keeps that one host.
 */
function hostViews(snapshot: WorkersSnapshot, only: string | undefined): HostView[] {
  const views = new Map<string, HostView>();
  for (const host of snapshot.hosts.hosts)
    views.set(host.hostId, { hostId: host.hostId, hostname: host.hostname, host, workers: [] });
  for (const worker of snapshot.workers.workers) {
    let view = views.get(worker.hostId);
    if (!view) {
      view = {
        hostId: worker.hostId,
        hostname: worker.hostname ?? worker.hostId,
        host: undefined,
        workers: [],
      };
      views.set(worker.hostId, view);
    }
    view.workers.push(worker);
  }
  const all = [...views.values()];
  return only === undefined ? all : all.filter((view) => view.hostId === only);
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
  const views = data ? hostViews(data, onlyHost) : [];
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
          {(data.hosts.truncated || data.workers.truncated) && (
            <p class="hint">
              Only the first {data.hosts.hosts.length} hosts and {data.workers.workers.length} worker
              processes are shown.
            </p>
          )}
          {views.map((view) => (
            <HostCard
              key={view.hostId}
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
