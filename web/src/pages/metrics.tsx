import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { MetricsQueueFigures, MetricsSeries } from '../api/metrics';
import { Banner } from '../components/banner';
import { formatPerMinute, formatRate, MetricsChart, RANGE_LABELS } from '../components/metrics-charts';
import { TableScroll } from '../components/table-scroll';
import { formatCount, formatDuration } from '../lib/format';
import { METRIC_RANGES, type SeriesKey, seriesPoller } from '../state/metrics-series';
import './metrics.css';

/** The page's state is its URL: /metrics?range=1h|24h|7d&queue=<q>&connection=<c>. */
function readKey(query: Record<string, string | undefined>): SeriesKey {
  const range = METRIC_RANGES.find((name) => name === query.range) ?? '1h';
  return { range, queue: query.queue || undefined, connection: query.connection || undefined };
}

export function metricsUrl(key: SeriesKey): string {
  const params = new URLSearchParams({ range: key.range });
  if (key.queue) params.set('queue', key.queue);
  if (key.connection) params.set('connection', key.connection);
  return `/metrics?${params}`;
}

/** The picker's value for a queue: connection and queue, JSON so any name round-trips. */
const pick = (key: { connection?: string | undefined; queue?: string | undefined }) =>
  key.queue || key.connection ? JSON.stringify([key.connection ?? '', key.queue ?? '']) : '';

function queueTitle(key: SeriesKey): string {
  if (key.queue && key.connection) return `Queue ${key.queue} (${key.connection})`;
  if (key.queue) return `Queue ${key.queue}, every connection`;
  if (key.connection) return `Every queue of ${key.connection}`;
  return 'All queues';
}

/**
 * Throughput, run time, wait time and failure rate over 1 h, 24 h or 7 d, for all queues or one,
 * polled from GET /api/metrics/series (rollups only).
 */
export function Metrics() {
  const location = useLocation();
  const key = readKey(location.query);
  const poller = seriesPoller(key);
  useEffect(() => poller.start(), [poller]);
  const answer = poller.data.value;
  const error = poller.error.value;

  return (
    <section aria-labelledby="metrics-title" aria-busy={answer === undefined && error === null}>
      <h1 id="metrics-title">Metrics</h1>
      <div class="metrics-controls">
        <nav aria-label="Range" class="range-switch">
          {METRIC_RANGES.map((range) => (
            <a
              key={range}
              href={metricsUrl({ ...key, range })}
              class="button"
              aria-current={range === key.range ? 'page' : undefined}
            >
              {range}
            </a>
          ))}
        </nav>
        <QueuePicker current={key} answer={answer} onPick={(next) => location.route(metricsUrl(next))} />
      </div>
      <h2 class="metrics-subject">
        {queueTitle(key)}, {RANGE_LABELS[key.range]}
      </h2>
      {error !== null && answer !== undefined && (
        <Banner tone="warning">
          <strong>Connection lost, retrying.</strong> The figures below are from the last answer ({error}).
        </Banner>
      )}
      {error !== null && answer === undefined && (
        <Banner tone="error">
          <strong>Cannot load the metrics, retrying.</strong> {error}
        </Banner>
      )}
      {answer === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <MetricsBody answer={answer} current={key} />
      )}
    </section>
  );
}

function QueuePicker(props: {
  current: SeriesKey;
  answer: MetricsSeries | undefined;
  onPick: (key: SeriesKey) => void;
}) {
  const { current, answer } = props;
  const options = (answer?.queues ?? []).map((queue) => ({
    connection: queue.connection,
    queue: queue.queue,
  }));
  // A queue from the URL with no rollup rows in the range is still a choice (and the current one).
  const selected = pick(current);
  if (selected !== '' && !options.some((option) => pick(option) === selected)) {
    options.unshift({ connection: current.connection ?? '', queue: current.queue ?? '' });
  }
  return (
    <div class="queue-picker">
      <label for="metrics-queue">Queue</label>
      <select
        id="metrics-queue"
        value={selected}
        onChange={(event) => {
          const value = event.currentTarget.value;
          if (value === '') return props.onPick({ range: current.range });
          const [connection, queue] = JSON.parse(value) as [string, string];
          props.onPick({
            range: current.range,
            connection: connection || undefined,
            queue: queue || undefined,
          });
        }}
      >
        <option value="">All queues</option>
        {options.map((option) => (
          <option key={pick(option)} value={pick(option)}>
            {option.queue || 'every queue'} ({option.connection || 'every connection'})
          </option>
        ))}
      </select>
    </div>
  );
}

function MetricsBody({ answer, current }: { answer: MetricsSeries; current: SeriesKey }) {
  const { totals } = answer;
  const finished = totals.completed + totals.failed;
  return (
    <>
      <dl class="stats" aria-label="Figures over the range">
        <Figure stat="completed" label="Completed" value={formatCount(totals.completed)} />
        <Figure stat="failed" label="Failed" value={formatCount(totals.failed)} />
        <Figure stat="per-minute" label="Jobs a minute" value={formatPerMinute(totals.perMinute)} />
        <Figure stat="failure-rate" label="Failure rate" value={formatRate(totals.failureRate)} />
        <Figure stat="avg-run" label="Average run" value={formatDuration(totals.avgRunMs)} />
        <Figure stat="avg-wait" label="Average wait" value={formatDuration(totals.avgWaitMs)} />
      </dl>
      {finished === 0 && (
        <p class="empty">
          No job finished in the {RANGE_LABELS[answer.range]}
          {current.queue || current.connection ? ' in this queue' : ''}. The charts fill in as jobs finish.
        </p>
      )}
      <div class="panels metrics-charts">
        <section class="card" aria-labelledby="chart-throughput">
          <h2 id="chart-throughput">Throughput</h2>
          <MetricsChart answer={answer} kind="throughput" />
        </section>
        <section class="card" aria-labelledby="chart-failure">
          <h2 id="chart-failure">Failure rate</h2>
          <MetricsChart answer={answer} kind="failure" />
        </section>
        <section class="card" aria-labelledby="chart-run">
          <h2 id="chart-run">Run time</h2>
          <MetricsChart answer={answer} kind="run" />
        </section>
        <section class="card" aria-labelledby="chart-wait">
          <h2 id="chart-wait">Wait time</h2>
          <MetricsChart answer={answer} kind="wait" />
        </section>
      </div>
      <QueueTable answer={answer} current={current} />
    </>
  );
}

function Figure(props: { stat: string; label: string; value: string }) {
  return (
    <div class="stat" data-stat={props.stat}>
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
    </div>
  );
}

/** Every queue over the range, each a link to its own charts. */
function QueueTable({ answer, current }: { answer: MetricsSeries; current: SeriesKey }) {
  const when = RANGE_LABELS[answer.range];
  return (
    <section class="card metrics-queues" aria-labelledby="metrics-queues-title">
      <h2 id="metrics-queues-title">Queues, {when}</h2>
      {answer.queues.length === 0 ? (
        <p class="empty">No queue has figures in the {when}.</p>
      ) : (
        <TableScroll label={`Queues, ${when}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Completed</th>
                <th scope="col">Failed</th>
                <th scope="col">Failure rate</th>
                <th scope="col">Jobs a minute</th>
                <th scope="col">Avg wait</th>
                <th scope="col">Avg run</th>
              </tr>
            </thead>
            <tbody>
              {answer.queues.map((queue: MetricsQueueFigures) => {
                const here = current.queue === queue.queue && current.connection === queue.connection;
                return (
                  <tr key={`${queue.connection}/${queue.queue}`}>
                    <td class="cell-text">
                      <a
                        href={metricsUrl({
                          range: current.range,
                          connection: queue.connection,
                          queue: queue.queue,
                        })}
                        aria-current={here ? 'page' : undefined}
                      >
                        {queue.queue}
                      </a>
                      <span class="cell-sub"> ({queue.connection})</span>
                    </td>
                    <td class="numeric">{formatCount(queue.completed)}</td>
                    <td class="numeric">{formatCount(queue.failed)}</td>
                    <td class="numeric">{formatRate(queue.failureRate)}</td>
                    <td class="numeric">{formatPerMinute(queue.perMinute)}</td>
                    <td class="numeric">{formatDuration(queue.avgWaitMs)}</td>
                    <td class="numeric">{formatDuration(queue.avgRunMs)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
