import { describe, expect, it } from 'vitest';
import { HEALTH_FILE_VERSION, type HostHealth } from '../../worker-host/host/health-file';
import { DEFAULT_HEALTH_RULES, judgeHealth } from '../../worker-host/host/health-rules';

/**
 * The rules `status --local` applies to a health file, on files as a host writes them. The cases a
 * real host can be brought to here (running, frozen, killed, a crash loop, Postgres unreachable) are
 * in status-local.test.ts; these are the ones it cannot be brought to cheaply (a spool that refuses
 * writes) and the edges of each rule.
 */
const now = 1_800_000_000_000;
const alive = () => true;

function health(overrides: Partial<HostHealth> = {}): HostHealth {
  return {
    version: HEALTH_FILE_VERSION,
    hostId: 'box-42-abcdef',
    hostname: 'box',
    pid: 42,
    startedAt: now - 60_000,
    writtenAt: now - 500,
    writeEveryMs: 1000,
    status: 'running',
    supervisors: [
      {
        name: 'emails',
        status: 'running',
        wanted: 2,
        running: 2,
        ready: 2,
        shortSince: null,
        noneSince: null,
        lastError: null,
      },
    ],
    heartbeat: { intervalMs: 5000, lastOkAt: now - 2000, lastFailedAt: null, lastError: null },
    recorder: {
      buffered: 0,
      spoolPending: 0,
      dropped: 0,
      spoolErrors: 0,
      lastSpoolError: null,
      lastSpoolErrorAt: null,
      lastWriteAt: now - 1000,
    },
    ...overrides,
  };
}

const judge = (h: HostHealth, isAlive: (pid: number) => boolean = alive) =>
  judgeHealth(h, now, DEFAULT_HEALTH_RULES, isAlive);

describe('the rules of status --local', () => {
  it('calls a running host with all its worker processes healthy, in one line', () => {
    const verdict = judge(health());
    expect(verdict.healthy).toBe(true);
    expect(verdict.reason).toBe(
      'healthy: host box-42-abcdef (pid 42) running; 1 supervisor(s), 2/2 worker processes running; heartbeat 2 s ago; recorder 0 rows in memory, 0 in the spool',
    );
  });

  it('calls a host whose pid is gone unhealthy, whatever its file says', () => {
    const verdict = judge(health(), (pid) => pid !== 42);
    expect(verdict).toMatchObject({ healthy: false });
    expect(verdict.reason).toMatch(/^unhealthy: host box-42-abcdef \(pid 42\) is gone/);
  });

  it('calls a file older than the limit stale, and one just under it fresh', () => {
    expect(judge(health({ writtenAt: now - 10_001 })).reason).toContain(
      'has not updated its health for 10 s',
    );
    expect(judge(health({ writtenAt: now - 9_999 })).healthy).toBe(true);
    // Never less than three of the host's own write periods.
    expect(judge(health({ writtenAt: now - 12_000, writeEveryMs: 5000 })).healthy).toBe(true);
  });

  it('calls a starting or stopped host unhealthy, a paused or terminating one healthy', () => {
    expect(judge(health({ status: 'starting', supervisors: [] })).reason).toMatch(/is starting \(for 60 s\)/);
    expect(judge(health({ status: 'stopped' })).healthy).toBe(false);
    expect(judge(health({ status: 'paused' })).reason).toMatch(/^healthy: .* paused;/);
    expect(judge(health({ status: 'terminating', supervisors: [] })).healthy).toBe(true);
  });

  it('calls a supervisor without any running process unhealthy after 10 s, not before', () => {
    const none = (since: number) =>
      health({
        supervisors: [
          {
            name: 'emails',
            status: 'running',
            wanted: 2,
            running: 0,
            ready: 0,
            shortSince: since,
            noneSince: since,
            lastError: 'Error: broken on import',
          },
        ],
      });
    expect(judge(none(now - 9_000)).healthy).toBe(true);
    const verdict = judge(none(now - 10_000));
    expect(verdict.healthy).toBe(false);
    expect(verdict.reason).toContain(
      'supervisor emails has had none of its 2 worker processes running for 10 s (last error: Error: broken on import)',
    );
  });

  it('reports a supervisor short of some processes, and processes not ready, as healthy', () => {
    const verdict = judge(
      health({
        supervisors: [
          {
            name: 'emails',
            status: 'running',
            wanted: 3,
            running: 2,
            ready: 1,
            shortSince: now - 4000,
            noneSince: null,
            lastError: null,
          },
        ],
      }),
    );
    expect(verdict.healthy).toBe(true);
    expect(verdict.reason).toContain('emails: 2/3 running for 4 s');
    expect(verdict.reason).toContain('emails: 1 not ready');
  });

  it('reports Postgres unreachable as healthy while the spool takes the rows', () => {
    const verdict = judge(
      health({
        heartbeat: {
          intervalMs: 5000,
          lastOkAt: now - 90_000,
          lastFailedAt: now - 1000,
          lastError: 'connect ECONNREFUSED 10.0.0.5:5432',
        },
        recorder: { ...health().recorder, buffered: 120, spoolPending: 4000 },
      }),
    );
    expect(verdict.healthy).toBe(true);
    expect(verdict.reason).toContain(
      'Postgres unreachable (heartbeat last written 90 s ago: connect ECONNREFUSED 10.0.0.5:5432); the recorder keeps 120 rows in memory, 4000 in the spool',
    );
    // A heartbeat that hangs (no answer, no error) is reported the same way once it is late.
    const hung = judge(
      health({
        heartbeat: { intervalMs: 5000, lastOkAt: now - 20_000, lastFailedAt: null, lastError: null },
      }),
    );
    expect(hung.reason).toContain('Postgres unreachable (heartbeat last written 20 s ago)');
  });

  it('calls a spool that refused a write in the last minute unhealthy: records are being dropped', () => {
    const refused = (at: number) =>
      health({
        recorder: {
          ...health().recorder,
          dropped: 5000,
          spoolErrors: 1,
          lastSpoolError: 'ENOSPC: no space left on device',
          lastSpoolErrorAt: at,
        },
      });
    const verdict = judge(refused(now - 30_000));
    expect(verdict.healthy).toBe(false);
    expect(verdict.reason).toContain(
      'is losing job records: the spool refused a write 30 s ago (ENOSPC: no space left on device); 5000 rows dropped',
    );
    expect(judge(refused(now - 61_000)).healthy).toBe(true);
  });
});
