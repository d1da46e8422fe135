import { hostname } from 'node:os';
import { CURRENT_KEY_VARIABLE } from '../../core/crypto/sealed-secrets';
import type { HostBeat } from '../heartbeat/heartbeat';
import { packageVersion } from './host-id';
import type { HostOptions } from './host-options';
import type { HostParts, PartsOwner } from './host-parts';
import { outputStats } from './output';

/** The host's own heartbeat row: who and where it is, what it runs, its stats and configuration. */
export function hostBeat(parts: HostParts, host: PartsOwner, options: HostOptions): HostBeat {
  return {
    hostId: host.hostId,
    hostname: hostname(),
    pid: process.pid,
    version: packageVersion(),
    status: host.status(),
    connections: parts.queues.names(),
    supervisors: parts.supervisors.all.map((s) => s.snapshot()),
    memoryBytes: process.memoryUsage.rss(),
    stats: hostStats(parts, options),
    startedAt: host.startedAt,
    configuration: {
      ...parts.databaseConfig.report(),
      encryptionKey: Boolean((options.env ?? process.env)[CURRENT_KEY_VARIABLE]),
    },
  };
}

/** The heartbeat's `stats`: the host's counters and the state of its parts. */
export function hostStats(parts: HostParts, options: HostOptions): Record<string, unknown> {
  const { ceiling, databaseConfig } = parts;
  return {
    polls: parts.commands.polls,
    ...parts.heartbeat.counters,
    ...parts.commands.counters,
    recorder: parts.recorder.stats(),
    watchers: parts.watchers.stats(),
    health: parts.connectionHealth.stats(),
    workerProcesses: {
      current: ceiling.current,
      max: ceiling.limit,
      maxFrom: ceiling.setting.source,
      refused: ceiling.refusals,
    },
    // Log lines that could not be written (stdout/stderr closed) and uncaught errors survived.
    ...outputStats(),
    lastError: parts.errors.last ?? null,
    // What the dashboard compares with the database's to show drift.
    configuration: {
      labels: options.labels ?? [],
      processorsDir: options.processorsDir ?? null,
      version: databaseConfig.current?.version ?? null,
      databaseSupervisors: databaseConfig.current?.supervisors.map((s) => s.name) ?? [],
      refused: databaseConfig.current?.refused ?? [],
    },
  };
}
