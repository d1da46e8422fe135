import { useMemo } from 'preact/hooks';
import type { MetricsRange, MetricsSeries } from '../api/metrics';
import { formatCount, formatDuration } from '../lib/format';
import { type ChartSeries, TimeChart } from './time-chart';

/**
 * The four charts of a GET /api/metrics/series answer: throughput, run time, wait time and failure
 * rate. Each caption states the figures of the whole range, which are the points added up, so the
 * captions, the cards and the charts of a page never disagree.
 */

export const RANGE_LABELS: Record<MetricsRange, string> = {
  '1h': 'last hour',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
};

export function formatRate(rate: number | null): string {
  if (rate === null) return '–';
  const percent = rate * 100;
  return `${percent.toFixed(percent > 0 && percent < 10 ? 1 : 0)} %`;
}

/** Jobs a minute: whole from 10 on, one decimal below, "< 0.1" rather than a "0.0" that hides jobs. */
export function formatPerMinute(perMinute: number): string {
  if (perMinute >= 10 || perMinute === 0) return formatCount(Math.round(perMinute));
  return perMinute < 0.05 ? '< 0.1' : perMinute.toFixed(1);
}

const count = (value: number) => formatCount(Math.round(value));
const duration = (value: number) => formatDuration(Math.round(value));

type Kind = 'throughput' | 'run' | 'wait' | 'failure';

function chartOf(
  answer: MetricsSeries,
  kind: Kind,
): { title: string; lines: ChartSeries[]; summary: string } {
  const per = answer.step === 'minute' ? 'per minute' : 'per hour';
  const when = RANGE_LABELS[answer.range];
  const { totals, points } = answer;
  switch (kind) {
    case 'throughput':
      return {
        title: `Jobs ${per}, ${when}`,
        lines: [
          { label: 'Completed', color: '--ok', values: points.map((point) => point.completed) },
          { label: 'Failed', color: '--bad', values: points.map((point) => point.failed), dash: [6, 3] },
        ],
        summary: `Jobs ${per}, ${when}: ${formatCount(totals.completed)} completed, ${formatCount(
          totals.failed,
        )} failed, ${formatPerMinute(totals.perMinute)} a minute on average.`,
      };
    case 'run':
      return {
        title: `Run time ${per}, ${when}`,
        lines: [
          { label: 'Average', color: '--accent', values: points.map((point) => point.avgRunMs) },
          { label: 'Longest', color: '--warn', values: points.map((point) => point.maxRunMs), dash: [6, 3] },
        ],
        summary:
          totals.avgRunMs === null
            ? `Run time ${per}, ${when}: no job finished.`
            : `Run time ${per}, ${when}: ${formatDuration(totals.avgRunMs)} on average, ${formatDuration(
                totals.maxRunMs,
              )} at the longest.`,
      };
    case 'wait':
      return {
        title: `Wait time ${per}, ${when}`,
        lines: [
          { label: 'Average', color: '--accent', values: points.map((point) => point.avgWaitMs) },
          { label: 'Longest', color: '--warn', values: points.map((point) => point.maxWaitMs), dash: [6, 3] },
        ],
        summary:
          totals.avgWaitMs === null
            ? `Wait time ${per}, ${when}: no job finished.`
            : `Wait time (queued to started) ${per}, ${when}: ${formatDuration(
                totals.avgWaitMs,
              )} on average, ${formatDuration(totals.maxWaitMs)} at the longest.`,
      };
    case 'failure':
      return {
        title: `Failure rate ${per}, ${when}`,
        lines: [{ label: 'Failed', color: '--bad', values: points.map((point) => point.failureRate) }],
        summary:
          totals.failureRate === null
            ? `Failure rate ${per}, ${when}: no job finished.`
            : `Failure rate ${per}, ${when}: ${formatRate(totals.failureRate)} (${formatCount(
                totals.failed,
              )} of ${formatCount(totals.completed + totals.failed)} jobs failed).`,
      };
  }
}

const FORMATS: Record<Kind, (value: number) => string> = {
  throughput: count,
  run: duration,
  wait: duration,
  failure: formatRate,
};

/** One chart of an answer; rebuilt only when a new answer arrives (a 304 keeps the same object). */
export function MetricsChart({
  answer,
  kind,
  height,
}: {
  answer: MetricsSeries;
  kind: Kind;
  height?: number;
}) {
  const chart = useMemo(() => chartOf(answer, kind), [answer, kind]);
  const times = useMemo(() => answer.points.map((point) => Date.parse(point.at)), [answer]);
  return (
    <TimeChart
      title={chart.title}
      times={times}
      step={answer.step}
      series={chart.lines}
      format={FORMATS[kind]}
      summary={chart.summary}
      {...(height === undefined ? {} : { height })}
    />
  );
}
