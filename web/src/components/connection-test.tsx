import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import type { Connection } from '../api/config';
import { formatBytes } from '../lib/bytes';
import { type ProbeOutcome, type TestResult, testConnection } from '../state/connection-probe';

type Shown = { phase: 'testing' } | { phase: 'answered'; outcome: ProbeOutcome<TestResult> };

/**
 * "Test": a live host reaches the connection now and says what it found (round trip, server
 * version, memory, eviction policy) or why it could not, inline under the row. Any signed-in
 * user may ask; only hosts hold the connection's secrets. `onTested` refreshes the table, whose
 * "Last test" cell then shows the host's record of this test.
 */
export function ConnectionTest({
  connection,
  onTested,
}: {
  connection: Connection;
  /** Called once a host answered: the host kept the result as the connection's last test. */
  onTested?: () => void;
}) {
  const shown = useSignal<Shown | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  async function run() {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    shown.value = { phase: 'testing' };
    const outcome = await testConnection(connection.id, controller.signal);
    if (controller.signal.aborted) return;
    shown.value = { phase: 'answered', outcome };
    if (outcome.ok) onTested?.();
  }

  const state = shown.value;
  return (
    <>
      <button
        type="button"
        aria-label={`Test ${connection.name}`}
        disabled={state?.phase === 'testing'}
        onClick={() => void run()}
      >
        Test
      </button>
      {state && (
        <div class="probe" role="status" aria-label={`Test of ${connection.name}`}>
          {state.phase === 'testing' ? (
            <p class="outcome outcome-pending">Testing…</p>
          ) : (
            <TestOutcome outcome={state.outcome} />
          )}
        </div>
      )}
    </>
  );
}

function TestOutcome({ outcome }: { outcome: ProbeOutcome<TestResult> }) {
  if (!outcome.ok) {
    return (
      <p class="outcome outcome-error">
        {outcome.refused ? 'Could not test' : 'Test failed'}: {outcome.message}
      </p>
    );
  }
  const result = outcome.result;
  if (!result.ok) {
    return (
      <p class="outcome outcome-error">
        Unreachable: {result.error ?? 'no reason given'}
        {result.latencyMs !== null && ` (after ${result.latencyMs} ms)`}
      </p>
    );
  }
  const evicts = result.maxmemoryPolicy !== null && result.maxmemoryPolicy !== 'noeviction';
  return (
    <>
      <p class="outcome outcome-ok">Reachable{result.authenticated ? ', signed in' : ''}.</p>
      <dl class="probe-facts">
        <div>
          <dt>Round trip</dt>
          <dd>{result.latencyMs === null ? '–' : `${result.latencyMs} ms`}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{result.serverVersion ?? '–'}</dd>
        </div>
        {result.usedMemoryBytes !== null && (
          <div>
            <dt>Memory used</dt>
            <dd>{formatBytes(result.usedMemoryBytes)}</dd>
          </div>
        )}
        {result.maxmemoryPolicy !== null && (
          <div>
            <dt>Eviction</dt>
            <dd>{result.maxmemoryPolicy}</dd>
          </div>
        )}
      </dl>
      {evicts && (
        <p class="outcome outcome-pending">
          Warning: maxmemory-policy is {result.maxmemoryPolicy}, not noeviction. When Redis fills up it may
          delete queue keys, and jobs are lost.
        </p>
      )}
      {result.error && <p class="outcome outcome-error">{result.error}</p>}
    </>
  );
}
