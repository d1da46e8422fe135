import type { HostHealth } from './health-file';

/**
 * When a host on this machine counts as unhealthy, from its health file (health-file.ts). The
 * question a HEALTHCHECK or a liveness probe asks is "would replacing this host help?", so:
 *
 * Unhealthy (exit 1):
 * - **gone**: its pid no longer runs, and it did not remove its file as a stopping host does
 *   (killed, crashed, out of memory);
 * - **stale**: the file is older than `staleAfterMs` (10 s; at least three of the host's own write
 *   periods): the loop that writes it is stuck, or the process is frozen (SIGSTOP, a hung disk);
 * - **starting** or **stopped**: not carrying out its work (a container's start period or a
 *   startup probe covers the first seconds);
 * - **no worker process**: a supervisor that should run worker processes has had none running for
 *   `noWorkersAfterMs` (10 s). A dead process is replaced at once, so only a crash loop (a
 *   processor that throws on import, a bad connection URL) or processes that cannot be started
 *   last that long;
 * - **losing records**: the spool refused a write in the last `spoolErrorWithinMs` (60 s): a full
 *   or read-only disk while Postgres would not take the rows either, so rows are being dropped.
 *
 * Reported, but healthy (exit 0), because the host is doing its job and a restart would not help:
 * - Postgres unreachable (heartbeats failing): the recorder keeps rows in memory and spools the
 *   rest, replayed when Postgres answers; the line says since when and how much waits;
 * - some but not all of a supervisor's worker processes running (one in its crash back-off);
 * - worker processes alive but not ready for more than a few seconds (their Redis is away: a
 *   restart would not bring it back);
 * - paused, or terminating within its grace period.
 */

export interface HealthRules {
  staleAfterMs: number;
  noWorkersAfterMs: number;
  spoolErrorWithinMs: number;
}

export const DEFAULT_HEALTH_RULES: HealthRules = {
  staleAfterMs: 10_000,
  noWorkersAfterMs: 10_000,
  spoolErrorWithinMs: 60_000,
};

export interface HealthVerdict {
  healthy: boolean;
  /** One line: `healthy: ...` or `unhealthy: ...`. */
  reason: string;
}

export function judgeHealth(
  health: HostHealth,
  now: number,
  rules: HealthRules,
  alive: (pid: number) => boolean,
): HealthVerdict {
  const who = `host ${health.hostId} (pid ${health.pid})`;
  const age = now - health.writtenAt;
  const bad = (why: string): HealthVerdict => ({ healthy: false, reason: `unhealthy: ${who} ${why}` });

  if (!alive(health.pid)) {
    return bad(
      `is gone: its process no longer runs and it did not stop cleanly (killed or crashed); last word ${seconds(age)} ago, ${health.status}`,
    );
  }
  const staleAfter = Math.max(rules.staleAfterMs, 3 * health.writeEveryMs);
  if (age > staleAfter) {
    return bad(
      `has not updated its health for ${seconds(age)} (more than ${seconds(staleAfter)}): its loop is stuck or the process is frozen`,
    );
  }
  if (health.status === 'starting') return bad(`is starting (for ${seconds(now - health.startedAt)})`);
  if (health.status === 'stopped') return bad('has stopped');
  const recorder = health.recorder;
  if (recorder.lastSpoolErrorAt !== null && now - recorder.lastSpoolErrorAt <= rules.spoolErrorWithinMs) {
    return bad(
      `is losing job records: the spool refused a write ${seconds(now - recorder.lastSpoolErrorAt)} ago (${recorder.lastSpoolError ?? 'no reason given'}); ${recorder.dropped} rows dropped`,
    );
  }
  for (const supervisor of health.supervisors) {
    if (supervisor.noneSince !== null && now - supervisor.noneSince >= rules.noWorkersAfterMs) {
      return bad(
        `supervisor ${supervisor.name} has had none of its ${supervisor.wanted} worker processes running for ${seconds(now - supervisor.noneSince)}${supervisor.lastError ? ` (last error: ${supervisor.lastError})` : ''}`,
      );
    }
  }

  const wanted = sum(health.supervisors.map((s) => s.wanted));
  const running = sum(health.supervisors.map((s) => s.running));
  const parts = [
    `${who} ${health.status}`,
    `${health.supervisors.length} supervisor(s), ${running}/${wanted} worker processes running`,
  ];
  for (const supervisor of health.supervisors) {
    if (supervisor.shortSince !== null) {
      parts.push(
        `${supervisor.name}: ${supervisor.running}/${supervisor.wanted} running for ${seconds(now - supervisor.shortSince)}`,
      );
    }
    if (supervisor.ready < supervisor.running) {
      parts.push(
        `${supervisor.name}: ${supervisor.running - supervisor.ready} not ready (waiting for their queue's backend?)`,
      );
    }
  }
  parts.push(postgres(health, now));
  return { healthy: true, reason: `healthy: ${parts.join('; ')}` };
}

/** What the host knows of Postgres: reported, never a reason to fail while the spool takes the rows. */
function postgres(health: HostHealth, now: number): string {
  const { heartbeat, recorder } = health;
  const failing = heartbeat.lastFailedAt !== null && (heartbeat.lastOkAt ?? 0) < heartbeat.lastFailedAt;
  const quietFor = now - (heartbeat.lastOkAt ?? health.startedAt);
  const late = quietFor > Math.max(3 * heartbeat.intervalMs, 15_000);
  const waiting = `${recorder.buffered} rows in memory, ${recorder.spoolPending} in the spool`;
  if (failing || late) {
    const last = heartbeat.lastOkAt === null ? 'none written yet' : `last written ${seconds(quietFor)} ago`;
    return `Postgres unreachable (heartbeat ${last}${heartbeat.lastError ? `: ${heartbeat.lastError}` : ''}); the recorder keeps ${waiting}, replayed when it answers`;
  }
  const since = heartbeat.lastOkAt === null ? 'none yet' : `${seconds(now - heartbeat.lastOkAt)} ago`;
  return `heartbeat ${since}; recorder ${waiting}`;
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
