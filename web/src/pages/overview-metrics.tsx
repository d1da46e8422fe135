import { useEffect } from 'preact/hooks';
import type { MetricsBody } from '../api/client';
import { TableScroll } from '../components/table-scroll';
import { ThroughputChart } from '../components/throughput-chart';
import { formatCount, formatDuration } from '../lib/format';
import { metricsPoll } from '../state/metrics';

/**
 * The Overview's charts and queue figures, in their own chunk (uPlot is most of it), so the
 * headline numbers never wait for them.
 */
export function OverviewMetrics() {
  useEffect(() => metricsPoll.start(), []);
  const metrics = metricsPoll.data.value;
  if (!metrics) {
    return metricsPoll.error.value === null ? <p class="loading">Loading the charts…</p> : null;
  }
  return (
    <div class="panels">
      <section class="card" aria-labelledby="throughput-title">
        <h2 id="throughput-title">Throughput</h2>
        <ThroughputChart hours={metrics.hourlyThroughput} />
      </section>
      <QueueFigures queues={metrics.queues} />
    </div>
  );
}

function percent(rate: number | null): string {
  return rate === null ? '–' : `${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)} %`;
}

function QueueFigures({ queues }: { queues: MetricsBody['queues'] }) {
  return (
    <section class="card" aria-labelledby="queue-figures-title">
      <h2 id="queue-figures-title">Queues, last 24 hours</h2>
      {queues.length === 0 ? (
        <p class="empty">No job finished in the last 24 hours.</p>
      ) : (
        <TableScroll label="Queues, last 24 hours">
          <table>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Completed</th>
                <th scope="col">Failed</th>
                <th scope="col">Failure rate</th>
                <th scope="col">Avg wait</th>
                <th scope="col">Avg run</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((queue) => (
                <tr key={`${queue.connection}/${queue.queue}`}>
                  <td class="cell-text">
                    {queue.queue}
                    <span class="cell-sub"> ({queue.connection})</span>
                  </td>
                  <td class="numeric">{formatCount(queue.completed)}</td>
                  <td class="numeric">{formatCount(queue.failed)}</td>
                  <td class="numeric">{percent(queue.failureRate)}</td>
                  <td class="numeric">
                    {formatDuration(queue.avgWaitMs === null ? null : Math.round(queue.avgWaitMs))}
                  </td>
                  <td class="numeric">
                    {formatDuration(queue.avgRunMs === null ? null : Math.round(queue.avgRunMs))}
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
