import { useMemo } from 'preact/hooks';
import type { ConnectionHealth } from '../api/health';
import { formatBytes } from '../lib/bytes';
import { formatCount } from '../lib/format';
import { RelativeTime } from './relative-time';
import { type ChartSeries, TimeChart } from './time-chart';

const RANGE_WORDS = {
  '1h': 'last hour',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
  '30d': 'last 30 days',
  '90d': 'last 90 days',
} as const;

export function formatLatency(ms: number | null): string {
  if (ms === null) return '–';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function HealthBadge({ state }: { state: 'up' | 'down' | 'unknown' }) {
  return <span class={`status health-${state}`}>{state}</span>;
}

/** One connection: its state now, the newest error, the eviction warning, memory and a latency sparkline. */
export function ConnectionCard(props: {
  connection: ConnectionHealth;
  range: keyof typeof RANGE_WORDS;
  step: 'minute' | 'hour';
  now: number;
}) {
  const { connection, range, step, now } = props;
  const id = `connection-${connection.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <section class="card connection-card" aria-labelledby={id} data-connection={connection.name}>
      <header class="connection-head">
        <h3 id={id}>{connection.name}</h3>
        <span class="cell-sub">{connection.kind === 'redis' ? 'Redis' : 'Postgres (BullMQ backend)'}</span>
        <HealthBadge state={connection.state} />
      </header>
      {connection.noeviction === false && <EvictionWarning policy={connection.maxmemoryPolicy} />}
      {connection.lastError !== null && (
        <p class="connection-error">
          <strong>{connection.state === 'down' ? 'Error' : 'Last error'}:</strong>{' '}
          <span class="connection-error-text">{connection.lastError}</span>{' '}
          {connection.lastErrorAt !== null && (
            <span class="cell-sub">
              (<RelativeTime at={connection.lastErrorAt} now={now} />)
            </span>
          )}
        </p>
      )}
      <dl class="connection-facts">
        <Fact
          label="Checks"
          value={`${formatCount(connection.checks)}, ${formatCount(connection.errors)} failed`}
        />
        {connection.redisVersion !== null && <Fact label="Redis" value={connection.redisVersion} />}
        {connection.usedMemoryBytes !== null && (
          <Fact
            label="Memory"
            value={`${formatBytes(connection.usedMemoryBytes)} used, ${
              connection.maxmemoryBytes ? `limit ${formatBytes(connection.maxmemoryBytes)}` : 'no limit'
            }`}
          />
        )}
        {connection.maxmemoryPolicy !== null && <Fact label="Eviction" value={connection.maxmemoryPolicy} />}
        {connection.connectedClients !== null && (
          <Fact label="Clients" value={formatCount(connection.connectedClients)} />
        )}
        <Fact
          label="Checked by"
          value={connection.hosts
            .map((host) => `${host.hostname ?? host.hostId}: ${host.up ? 'up' : 'down'}`)
            .join(', ')}
        />
      </dl>
      <LatencySparkline connection={connection} range={range} step={step} />
    </section>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function EvictionWarning({ policy }: { policy: string | null }) {
  return (
    <p class="connection-warning" role="note">
      <strong>Jobs can be lost:</strong> this Redis evicts keys when it runs out of memory (maxmemory-policy{' '}
      <code>{policy}</code>). BullMQ needs <code>noeviction</code>: set it on the server (
      <code>CONFIG SET maxmemory-policy noeviction</code>, and in redis.conf).
    </p>
  );
}

function LatencySparkline(props: {
  connection: ConnectionHealth;
  range: keyof typeof RANGE_WORDS;
  step: 'minute' | 'hour';
}) {
  const { connection, range, step } = props;
  const { times, lines, summary } = useMemo(() => {
    const series = connection.series;
    const lines: ChartSeries[] = [
      { label: 'p50', color: '--accent', values: series.map((point) => point.p50Ms) },
      { label: 'p95', color: '--warn', values: series.map((point) => point.p95Ms), dash: [6, 3] },
    ];
    const latest = series.findLast((point) => point.p50Ms !== null);
    const when = RANGE_WORDS[range];
    const summary = latest
      ? `Round trip, ${when}: latest p50 ${formatLatency(latest.p50Ms)}, p95 ${formatLatency(latest.p95Ms)}.`
      : `No successful check in the ${when}.`;
    return { times: series.map((point) => Date.parse(point.at)), lines, summary };
  }, [connection.series, range]);
  return (
    <TimeChart
      title={`Round trip of ${connection.name}, ${RANGE_WORDS[range]}`}
      times={times}
      step={step}
      series={lines}
      format={formatLatency}
      summary={summary}
      // Tall enough for uPlot to label the axis with more than one tick.
      height={160}
    />
  );
}
