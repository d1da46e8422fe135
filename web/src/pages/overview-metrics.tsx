import { useEffect } from 'preact/hooks';
import type { MetricsSeries } from '../api/metrics';
import { formatRate, MetricsChart } from '../components/metrics-charts';
import { TableScroll } from '../components/table-scroll';
import { formatCount, formatDuration } from '../lib/format';
import { seriesPoller } from '../state/metrics-series';
import '../components/stacked-table.css';

// The Overview's series: all queues, the last hour per minute and the last 24 hours per hour
// (GET /api/metrics/series, rollups only). The Metrics page shares these pollers.
const lastHour = seriesPoller({ range: '1h' });
const lastDay = seriesPoller({ range: '24h' });

/**
 * The Overview's charts and queue figures, in their own chunk (uPlot is most of it), so the
 * headline numbers never wait for them: throughput per minute over the last hour and per hour over
 * 24 hours, wait time and run time over 24 hours, and each queue's figures over the same 24 hours
 * (from the same answer, so the table and the charts agree).
 */
export function OverviewMetrics() {
  useEffect(() => {
    const stops = [lastHour.start(), lastDay.start()];
    return () => {
      for (const stop of stops) stop();
    };
  }, []);
  const hour = lastHour.data.value;
  const day = lastDay.data.value;
  if (!hour || !day) {
    return lastHour.error.value === null && lastDay.error.value === null ? (
      <p class="loading">Loading the charts…</p>
    ) : null;
  }
  return (
    <>
      <div class="panels">
        <section class="card" aria-labelledby="throughput-hour-title">
          <h2 id="throughput-hour-title">Throughput, last hour</h2>
          <MetricsChart answer={hour} kind="throughput" height={180} />
        </section>
        <section class="card" aria-labelledby="throughput-day-title">
          <h2 id="throughput-day-title">Throughput, last 24 hours</h2>
          <MetricsChart answer={day} kind="throughput" height={180} />
        </section>
        <section class="card" aria-labelledby="wait-day-title">
          <h2 id="wait-day-title">Wait time, last 24 hours</h2>
          <MetricsChart answer={day} kind="wait" height={180} />
        </section>
        <section class="card" aria-labelledby="run-day-title">
          <h2 id="run-day-title">Run time, last 24 hours</h2>
          <MetricsChart answer={day} kind="run" height={180} />
        </section>
      </div>
      <div class="panels">
        <QueueFigures queues={day.queues} />
      </div>
    </>
  );
}

function QueueFigures({ queues }: { queues: MetricsSeries['queues'] }) {
  return (
    <section class="card" aria-labelledby="queue-figures-title">
      <h2 id="queue-figures-title">Queues, last 24 hours</h2>
      {queues.length === 0 ? (
        <p class="empty">No job finished in the last 24 hours.</p>
      ) : (
        <TableScroll label="Queues, last 24 hours">
          <table class="stacked-table stacked-narrow overview-table">
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
                  <td class="cell-text stack-title" data-label="Queue">
                    <a
                      href={`/metrics?${new URLSearchParams({ range: '24h', queue: queue.queue, connection: queue.connection })}`}
                    >
                      {queue.queue}
                    </a>
                    <span class="cell-sub"> ({queue.connection})</span>
                  </td>
                  <td class="numeric" data-label="Completed">
                    {formatCount(queue.completed)}
                  </td>
                  <td class="numeric" data-label="Failed">
                    {formatCount(queue.failed)}
                  </td>
                  <td class="numeric" data-label="Failure rate">
                    {formatRate(queue.failureRate)}
                  </td>
                  <td class="numeric" data-label="Avg wait">
                    {formatDuration(queue.avgWaitMs)}
                  </td>
                  <td class="numeric" data-label="Avg run">
                    {formatDuration(queue.avgRunMs)}
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
