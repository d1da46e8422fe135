import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricsBody } from '../api/client';
import { theme } from '../state/settings';

type Hour = MetricsBody['hourlyThroughput'][number];

function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * Completed and failed jobs per hour over the last 24 hours, drawn by uPlot on a canvas. The
 * figure's caption carries the totals as text, for screen readers and for anyone who wants the
 * numbers. Redrawn when the data, the width or the theme changes.
 */
export function ThroughputChart({ hours }: { hours: Hour[] }) {
  const box = useRef<HTMLDivElement>(null);
  const themeName = theme.value;
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const data: uPlot.AlignedData = [
      hours.map((hour) => Date.parse(hour.hour) / 1000),
      hours.map((hour) => hour.completed),
      hours.map((hour) => hour.failed),
    ];
    const text = cssColor('--muted');
    const grid = cssColor('--border');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: 220,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 50 }],
        series: [
          {},
          { label: 'Completed', stroke: cssColor('--ok'), width: 2 },
          { label: 'Failed', stroke: cssColor('--bad'), width: 2 },
        ],
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(element.clientWidth, 200), height: 220 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [hours, themeName]);

  const completed = hours.reduce((sum, hour) => sum + hour.completed, 0);
  const failed = hours.reduce((sum, hour) => sum + hour.failed, 0);
  return (
    <figure class="chart">
      <div ref={box} />
      <figcaption>
        Jobs per hour, last 24 hours: {completed.toLocaleString()} completed, {failed.toLocaleString()}{' '}
        failed.
      </figcaption>
    </figure>
  );
}
