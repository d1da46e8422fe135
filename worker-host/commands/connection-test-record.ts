import type { ConnectionTestResult } from '../../core/commands/command-types';
import type { StatementDatabase } from '../../core/db/database';
import { connectionTests } from '../../drizzle/schema';
import { logLine } from '../host/output';
import { cleanText, cutText } from '../recorder/storable';
import { COMMAND_TIMEOUT_MS, withinTime } from './connection-client';

/** An error kept with the last test: one line an operator reads, not a log. */
export const MAX_TEST_ERROR_CHARS = 500;
const MAX_VERSION_CHARS = 100;

/** Text as Postgres takes it: cut to `cap` without splitting a pair, NUL and lone surrogates replaced. */
function storable(text: string | null, cap: number): string | null {
  return text === null ? null : cleanText(cutText(text, cap));
}

/**
 * Keeps a test's result as the connection's last test (watchtower_connection_tests), replacing the
 * one before. Best effort: the test's answer matters more than its record, so a failed or slow
 * write is logged and never fails the command. A connection deleted meanwhile has nothing to
 * record against (the foreign key refuses the row): that is logged too, and harmless.
 */
export async function recordConnectionTest(
  db: StatementDatabase,
  connectionId: string,
  hostId: string,
  result: ConnectionTestResult,
): Promise<void> {
  const values = {
    hostId,
    testedAt: new Date(),
    ok: result.ok,
    latencyMs: result.latencyMs,
    serverVersion: storable(result.serverVersion, MAX_VERSION_CHARS),
    authenticated: result.authenticated,
    error: storable(result.error, MAX_TEST_ERROR_CHARS),
  };
  try {
    await withinTime(
      db
        .insert(connectionTests)
        .values({ connectionId, ...values })
        .onConflictDoUpdate({ target: connectionTests.connectionId, set: values }),
      COMMAND_TIMEOUT_MS,
      'the database',
    );
  } catch (error) {
    // Drizzle's message is the statement and its parameters; what Postgres said is its cause.
    const cause = (error as { cause?: unknown } | null)?.cause;
    const reason = cause instanceof Error ? cause : error;
    const message = reason instanceof Error ? reason.message || reason.name : String(reason);
    logLine(`could not record the test of connection ${connectionId}: ${cleanText(cutText(message, 300))}`);
  }
}
