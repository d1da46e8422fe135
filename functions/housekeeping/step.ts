import type { CommandBus } from '../../core/bus/command-bus';
import type { StatementDatabase } from '../../core/db/database';
import type { Env } from '../env';

/** What a housekeeping step gets: the run's database and bus (opened on first use) and the bindings. */
export interface HousekeepingContext {
  readonly db: StatementDatabase;
  readonly bus: CommandBus;
  readonly env: Env;
}

/**
 * One bounded piece of the cron's housekeeping. `run` reads its own variables (so a bad one fails
 * that step alone) and answers a short account of what it did, for the run's summary line.
 */
export interface HousekeepingStep {
  readonly name: string;
  run(context: HousekeepingContext): Promise<string>;
}

/**
 * Calls `batch` (which deletes at most `batchSize` rows and says how many) until a batch comes back
 * short or `maxBatches` ran: one run never holds the database for long, the next run carries on.
 */
export async function inBatches(
  bounds: { batchSize: number; maxBatches: number },
  batch: () => Promise<number>,
): Promise<number> {
  let total = 0;
  for (let run = 0; run < bounds.maxBatches; run++) {
    const done = await batch();
    total += done;
    if (done < bounds.batchSize) break;
  }
  return total;
}

/** `days` as seconds for make_interval; retention is in days, fractions allowed. */
export function daysToSeconds(days: number): number {
  return Math.round(days * 86_400);
}
