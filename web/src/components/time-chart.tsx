import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './time-chart.css';
import { shownTheme } from '../state/settings';
import { TableScroll } from './table-scroll';

export interface ChartSeries {
  label: string;
  /** One value per time; null where there is nothing to show (an average over no job). */
  values: ReadonlyArray<number | null>;
  /** A CSS variable of styles.css (`--ok`), so the line follows the theme. */
  color: string;
  dash?: number[];
}

export interface TimeChartProps {
  /** What the chart shows, for the table's caption and the screen reader ("Run time, last hour"). */
  title: string;
  /** Start of each step, ms since the epoch, oldest first. */
  times: readonly number[];
  step: 'minute' | 'hour';
  series: readonly ChartSeries[];
  /** A value as text, in the legend, the axis and the table. */
  format: (value: number) => string;
  /** The figures in a sentence: the chart's text alternative, always shown under it. */
  summary: string;
  height?: number;
}

function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

const minuteLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const hourLabel = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

const dateHourLabel = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** Longer than a week, a weekday names no single day: the hours of such a chart carry their date. */
const WEEK_MS = 7 * 86_400_000;

export function stepLabel(at: number, step: 'minute' | 'hour', spanMs = 0): string {
  if (step === 'minute') return minuteLabel.format(at);
  return (spanMs >= WEEK_MS ? dateHourLabel : hourLabel).format(at);
}

/**
 * The last step where any line has a value: what the legend shows while nothing is hovered (uPlot
 * would show "--"). The same step for every line of a chart, so the legend reads as one moment.
 */
function latestIndex(series: readonly ChartSeries[]): number | null {
  let last: number | null = null;
  for (const line of series) {
    for (let i = line.values.length - 1; i >= 0 && (last === null || i > last); i--) {
      const value = line.values[i];
      if (value !== null && value !== undefined) {
        last = i;
        break;
      }
    }
  }
  return last;
}

/**
 * A time series drawn by uPlot on a canvas, with a text alternative: a sentence with the figures
 * under it, and the values as a table behind a toggle. The legend shows the hovered step, and the
 * latest values (not uPlot's "--") while nothing is hovered. Redrawn when the data, the width or
 * the theme changes.
 */
export function TimeChart(props: TimeChartProps) {
  const { times, series, format, step, title, summary } = props;
  const height = props.height ?? 200;
  const box = useRef<HTMLDivElement>(null);
  const showTable = useSignal(false);
  const span = times.length > 1 ? (times.at(-1) ?? 0) - (times[0] ?? 0) : 0;
  // The theme on screen, the system's included: the canvas keeps the colours it was drawn with.
  const themeName = shownTheme.value;

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const data = [
      times.map((at) => at / 1000),
      ...series.map((line) => [...line.values]),
    ] as uPlot.AlignedData;
    const text = cssColor('--muted');
    const grid = cssColor('--border');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const last = latestIndex(series);
    const lastTime = last === null ? undefined : times[last];
    // A line with gaps (an average over no job is null) may have lone values: dots show them.
    const gappy = (values: ReadonlyArray<number | null>) => values.some((value) => value === null);
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        legend: { show: true, live: true },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [axis, { ...axis, size: 64, values: (_u, ticks) => ticks.map((tick) => format(tick)) }],
        series: [
          {
            label: step === 'minute' ? 'Minute' : 'Hour',
            value: (_u, value, _s, idx) =>
              idx === null
                ? lastTime === undefined
                  ? 'no data'
                  : `latest: ${stepLabel(lastTime, step, span)}`
                : stepLabel(value * 1000, step, span),
          },
          ...series.map((line) => ({
            label: line.label,
            stroke: cssColor(line.color),
            width: 2,
            ...(line.dash ? { dash: line.dash } : {}),
            ...(gappy(line.values) ? { points: { show: true, size: 6, fill: cssColor(line.color) } } : {}),
            spanGaps: false,
            value: (_u: uPlot, value: number | null, _s: number, idx: number | null) => {
              const shown = idx === null ? (last === null ? null : (line.values[last] ?? null)) : value;
              return shown === null ? '–' : format(shown);
            },
          })),
        ],
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(element.clientWidth, 200), height }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [times, series, themeName, height, step, format, span]);

  return (
    <figure class="chart" data-drawn-theme={themeName}>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
      <figcaption>
        {summary}{' '}
        <button
          type="button"
          class="button-quiet chart-table-toggle"
          aria-expanded={showTable.value}
          onClick={() => {
            showTable.value = !showTable.value;
          }}
        >
          {showTable.value ? 'Hide the table' : 'Show as a table'}
        </button>
      </figcaption>
      {showTable.value && (
        <div class="chart-table">
          <TableScroll label={`${title}, as a table`}>
            <table>
              <caption class="visually-hidden">{title}</caption>
              <thead>
                <tr>
                  <th scope="col">{step === 'minute' ? 'Minute' : 'Hour'}</th>
                  {series.map((line) => (
                    <th scope="col" key={line.label}>
                      {line.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {times.map((at, index) => (
                  <tr key={at}>
                    <th scope="row">{stepLabel(at, step, span)}</th>
                    {series.map((line) => {
                      const value = line.values[index];
                      return (
                        <td class="numeric" key={line.label}>
                          {value === null || value === undefined ? '–' : format(value)}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </div>
      )}
    </figure>
  );
}
