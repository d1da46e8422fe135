import { deliverAlerts } from './deliver-alerts';
import { evaluateAlertRules } from './evaluate-alerts';
import { pruneAlerts } from './prune-alerts';
import { pruneAudit } from './prune-audit';
import { pruneAuth } from './prune-auth-state';
import { pruneCommands } from './prune-commands';
import { pruneConnectionHealth } from './prune-connection-health';
import { pruneHosts } from './prune-hosts';
import { pruneCompletedJobs, pruneFailedJobs } from './prune-jobs';
import { pruneMetrics } from './prune-metrics';
import { resealSecrets } from './reseal-secrets';
import { rollupConnectionHealth } from './rollup-connection-health';
import { rollupMetrics } from './rollup-metrics';
import type { HousekeepingContext, HousekeepingStep } from './step';
import { sweepDeadHosts } from './sweep-dead-hosts';

/** In order of urgency: who is dead first, alerts, then the bus, then retention, the hourly rollups, a key rotation. */
export const HOUSEKEEPING_STEPS: readonly HousekeepingStep[] = [
  sweepDeadHosts,
  // Alerts right after: they read the hosts' state, and should not wait behind the prunes.
  evaluateAlertRules,
  deliverAlerts,
  pruneHosts,
  pruneCommands,
  pruneAuth,
  pruneAudit,
  pruneCompletedJobs,
  pruneFailedJobs,
  pruneMetrics,
  pruneConnectionHealth,
  pruneAlerts,
  // After the prunes: they only recompute hours whose minute rows are all still kept.
  rollupMetrics,
  rollupConnectionHealth,
  // Only does anything during a key rotation (WATCHTOWER_ENCRYPTION_KEY_PREVIOUS set).
  resealSecrets,
];

export interface HousekeepingRun {
  /** One line for the log: every step's account, failed ones marked. */
  summary: string;
  failures: { step: string; error: string }[];
}

/**
 * Runs every step one after the other; a step that throws is logged and the next still runs.
 * Returns the summary line and the failures, for the caller to report.
 */
export async function runHousekeeping(
  context: HousekeepingContext,
  steps: readonly HousekeepingStep[] = HOUSEKEEPING_STEPS,
): Promise<HousekeepingRun> {
  const started = Date.now();
  const parts: string[] = [];
  const failures: HousekeepingRun['failures'] = [];
  for (const step of steps) {
    try {
      parts.push(`${step.name}: ${await step.run(context)}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`watchtower: housekeeping step "${step.name}" failed: ${message}`);
      failures.push({ step: step.name, error: message });
      parts.push(`${step.name}: FAILED`);
    }
  }
  return {
    summary: `watchtower: housekeeping in ${Date.now() - started} ms; ${parts.join('; ')}`,
    failures,
  };
}
