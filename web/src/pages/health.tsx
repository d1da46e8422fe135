import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { ConnectionHealthAnswer, HealthRange } from '../api/health';
import { Banner } from '../components/banner';
import { ConnectionCard } from '../components/connection-card';
import { RelativeTime } from '../components/relative-time';
import { StatusBadge } from '../components/status-badge';
import { TableScroll } from '../components/table-scroll';
import { HEALTH_RANGES, healthPoller } from '../state/connection-health';
import '../components/stacked-table.css';
import './health.css';

/**
 * Connections and hosts: up or down now, the last error, Redis's eviction policy in plain words,
 * and each connection's round trip over 1 h, 24 h, 7 d, 30 d or 90 d (GET /api/health/connections).
 * The page's state is its URL: /health?range=1h|24h|7d|30d|90d.
 */
export function Health() {
  const location = useLocation();
  const range: HealthRange = HEALTH_RANGES.find((name) => name === location.query.range) ?? '1h';
  const poller = healthPoller(range);
  useEffect(() => poller.start(), [poller]);
  const answer = poller.data.value;
  const error = poller.error.value;
  const now = poller.serverTime.value ?? Date.now();

  return (
    <section aria-labelledby="health-title" aria-busy={answer === undefined && error === null}>
      <h1 id="health-title">Health</h1>
      <nav aria-label="Range" class="range-switch health-range">
        {HEALTH_RANGES.map((name) => (
          <a
            key={name}
            href={`/health?range=${name}`}
            class="button"
            aria-current={name === range ? 'page' : undefined}
          >
            {name}
          </a>
        ))}
      </nav>
      {error !== null && answer !== undefined && (
        <Banner tone="warning">
          <strong>Connection lost, retrying.</strong> The figures below are from the last answer ({error}).
        </Banner>
      )}
      {error !== null && answer === undefined && (
        <Banner tone="error">
          <strong>Cannot load the health checks, retrying.</strong> {error}
        </Banner>
      )}
      {answer === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <HealthBody answer={answer} now={now} />
      )}
    </section>
  );
}

function HealthBody({ answer, now }: { answer: ConnectionHealthAnswer; now: number }) {
  const down = answer.connections.filter((connection) => connection.state === 'down');
  return (
    <>
      {down.length > 0 && (
        <Banner tone="error">
          <strong>
            {down.length === 1 ? 'A connection is down' : `${down.length} connections are down`}:
          </strong>{' '}
          {down.map((connection) => connection.name).join(', ')}
        </Banner>
      )}
      <h2>Connections</h2>
      {answer.connections.length === 0 ? (
        <p class="empty">
          No host has checked a connection in this range. Hosts check each connection of their configuration
          every <code>host.healthInterval</code> seconds (30 by default).
        </p>
      ) : (
        <div class="panels health-connections">
          {answer.connections.map((connection) => (
            <ConnectionCard
              key={connection.name}
              connection={connection}
              range={answer.range}
              step={answer.step}
              now={now}
            />
          ))}
        </div>
      )}
      <HostTable answer={answer} now={now} />
    </>
  );
}

/** The hosts as a table; on a phone each row is a card (stacked-table.css), nothing to scroll sideways. */
function HostTable({ answer, now }: { answer: ConnectionHealthAnswer; now: number }) {
  return (
    <section class="card health-hosts" aria-labelledby="health-hosts-title">
      <h2 id="health-hosts-title">Hosts</h2>
      {answer.hosts.length === 0 ? (
        <p class="empty">No host has sent a heartbeat in this range.</p>
      ) : (
        <TableScroll label="Hosts">
          <table class="health-hosts-table stacked-table stacked-narrow">
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Status</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Connections</th>
              </tr>
            </thead>
            <tbody>
              {answer.hosts.map((host) => (
                <tr key={host.hostId}>
                  <td class="cell-text stack-title" data-label="Host">
                    <a href={`/workers?host=${encodeURIComponent(host.hostId)}`}>{host.hostname}</a>
                    <span class="cell-sub"> {host.hostId}</span>
                  </td>
                  <td class="stack-aside" data-label="Status">
                    <StatusBadge status={host.status} />
                  </td>
                  <td data-label="Last heartbeat">
                    <RelativeTime at={host.lastHeartbeat} now={now} />
                  </td>
                  <td class="cell-text" data-label="Connections">
                    {host.connections.join(', ') || '–'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
