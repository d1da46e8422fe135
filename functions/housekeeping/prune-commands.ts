import { HOUSEKEEPING_DEFAULTS, pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/** "Forever" for the bus's cleanup, which always takes a retention: a hundred years. */
const FOREVER_SECONDS = 100 * 365 * 86_400;

/**
 * The command bus's own housekeeping, on whichever driver is configured: marks commands past their
 * TTL `expired`, deletes finished ones (done, failed, expired) older than
 * WATCHTOWER_RETENTION_COMMANDS_DAYS and expired key/value entries; each bounded by the batch size.
 */
export const pruneCommands: HousekeepingStep = {
  name: 'commands',
  async run({ bus, env }) {
    const days = retentionDays(env, 'WATCHTOWER_RETENTION_COMMANDS_DAYS', HOUSEKEEPING_DEFAULTS.commandsDays);
    const bounds = pruneBounds(env);
    const retentionSeconds = days === 0 ? FOREVER_SECONDS : daysToSeconds(days);
    // cleanup() touches up to batchSize rows of each kind: a full batch of any may mean more to do.
    let touched = 0;
    await inBatches(bounds, async () => {
      const n = await bus.cleanup({ limit: bounds.batchSize, retentionSeconds });
      touched += n;
      return Math.min(n, bounds.batchSize);
    });
    return `${touched} touched (finished kept ${days === 0 ? 'forever' : `${days} d`})`;
  },
};
