import { evaluateAlerts } from '../alerts/evaluate';
import type { HousekeepingStep } from './step';

/**
 * Evaluates every enabled alert rule (functions/alerts/evaluate.ts). A rule that cannot be
 * evaluated fails this step (so the run shows as failed) after every other rule was evaluated.
 */
export const evaluateAlertRules: HousekeepingStep = {
  name: 'alerts',
  async run({ db }) {
    const summary = await evaluateAlerts(db);
    if (summary.failed.length > 0) {
      throw new Error(
        `${summary.failed.length} of ${summary.rules} rule(s) failed: ${summary.failed
          .map((failure) => `${failure.rule}: ${failure.error}`)
          .join('; ')}`,
      );
    }
    const { firing, renotify, resolved } = summary.events;
    return `${summary.rules} rules, ${firing} firing, ${renotify} renotified, ${resolved} resolved, ${summary.silenced} silenced`;
  },
};
