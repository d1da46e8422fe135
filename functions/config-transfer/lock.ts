import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { HttpError } from '../http-error';

/**
 * An import holds both configuration tables for its whole transaction, so that what it compares
 * with is what it writes over, and two imports run one after the other.
 *
 * EXCLUSIVE mode: plain reads (the lists, the hosts reading their configuration) go on, anything
 * that locks or writes a row waits. Taken NOWAIT and retried rather than waited for: the CRUD
 * routes touch the two tables in both orders (a supervisor's change reads its connection, a
 * connection's delete checks the supervisors), so an import holding one table while waiting for
 * the other could deadlock with them. Holding nothing while it waits, it never does.
 */

/** SQLSTATE 55P03 `lock_not_available`: what NOWAIT raises when a lock is held. */
const LOCK_NOT_AVAILABLE = '55P03';

// About 10 s in all: longer than any CRUD change holds a row, short of a client's patience.
const ATTEMPTS = 12;
const FIRST_DELAY_MS = 25;
const MAX_DELAY_MS = 2_000;

export async function lockConfiguration(tx: StatementDatabase): Promise<void> {
  await tx.execute(
    sql`lock table watchtower_supervisor_configs, watchtower_connections in exclusive mode nowait`,
  );
}

/** Whether `error` (or what drizzle wrapped in it) is a NOWAIT lock that was held. */
function isLockBusy(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if ((current as { code?: unknown }).code === LOCK_NOT_AVAILABLE) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Runs `transaction` (which calls lockConfiguration first) again while the lock is busy, with a
 * growing pause; 503 when it stays busy.
 */
export async function whileLockBusy<T>(transaction: () => Promise<T>): Promise<T> {
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (!isLockBusy(error)) throw error;
      if (attempt >= ATTEMPTS) {
        throw new HttpError(
          503,
          'unavailable',
          'The connections or supervisor configurations are being changed by another request: try the import again',
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}
