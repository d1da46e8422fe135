import type { Connection } from '../api/config';
import { formatLatency } from './connection-card';
import { RelativeTime } from './relative-time';

/**
 * A connection's last test, as the host that ran it kept it: "Reachable · 0.4 ms" or
 * "Failed: why", then when and from which host; "never" before the first test.
 */
export function ConnectionLastTest({ test, now }: { test: Connection['lastTest']; now: number }) {
  if (test === null) return <span class="cell-sub">never</span>;
  const error = test.error ?? 'no reason given';
  return (
    <span>
      {test.ok ? (
        <span class="cell-main last-test last-test-ok">
          Reachable{test.latencyMs !== null && ` · ${formatLatency(test.latencyMs)}`}
        </span>
      ) : (
        <span class="cell-main last-test last-test-failed" title={error}>
          Failed: {error}
        </span>
      )}
      <span class="cell-sub">
        <RelativeTime at={test.at} now={now} /> from {test.hostId}
      </span>
    </span>
  );
}
