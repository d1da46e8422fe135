import { api, errorMessage, watchedFetch } from '../api/client';
import type { Command } from '../api/workers';

/**
 * Asks a live host to reach a connection: POST /api/connections/{id}/test (a round trip, the
 * server's version, memory and eviction policy) or /discover (the queues under its key prefix).
 * Both answer `{ command }` like every route that sends a command; a command still open is followed
 * through GET /api/commands/{id}/wait until the host answers or it expires.
 */

export interface TestResult {
  ok: boolean;
  latencyMs: number | null;
  serverVersion: string | null;
  usedMemoryBytes: number | null;
  maxmemoryPolicy: string | null;
  authenticated: boolean;
  error: string | null;
}

export interface DiscoverResult {
  queues: string[];
  truncated: boolean;
  scannedKeys: number;
}

export type ProbeOutcome<T> =
  | { ok: true; result: T }
  /**
   * `refused`: nothing was tried (the API refused, 409 when no host is live; no host took the
   * request before it expired; the server cannot be reached). Otherwise a host tried and failed.
   */
  | { ok: false; refused: boolean; message: string };

const WAIT_SECONDS = '10';

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A host's answer is read field by field: an older or newer host may answer differently. */
export function readTestResult(value: unknown): TestResult | null {
  if (typeof value !== 'object' || value === null) return null;
  const result = value as Record<string, unknown>;
  if (typeof result.ok !== 'boolean') return null;
  return {
    ok: result.ok,
    latencyMs: numberOrNull(result.latencyMs),
    serverVersion: stringOrNull(result.serverVersion),
    usedMemoryBytes: numberOrNull(result.usedMemoryBytes),
    maxmemoryPolicy: stringOrNull(result.maxmemoryPolicy),
    authenticated: result.authenticated === true,
    error: stringOrNull(result.error),
  };
}

export function readDiscoverResult(value: unknown): DiscoverResult | null {
  if (typeof value !== 'object' || value === null) return null;
  const result = value as Record<string, unknown>;
  if (!Array.isArray(result.queues)) return null;
  return {
    queues: result.queues.filter((queue): queue is string => typeof queue === 'string'),
    truncated: result.truncated === true,
    scannedKeys: numberOrNull(result.scannedKeys) ?? 0,
  };
}

async function follow(command: Command, signal: AbortSignal): Promise<Command | string> {
  let open = command;
  while (open.status === 'pending' || open.status === 'claimed') {
    const response = await api.api.commands[':id'].wait.$get(
      { param: { id: open.id }, query: { timeout: WAIT_SECONDS } },
      { init: { signal } },
    );
    const status: number = response.status;
    if (status === 200 || status === 202) open = (await response.json()).command;
    else if (status === 409) return 'No host took the request before it expired: is a host running?';
    else return await errorMessage(response);
  }
  if (open.status === 'expired') return 'No host took the request before it expired: is a host running?';
  return open;
}

async function probe<T>(
  connectionId: string,
  action: 'test' | 'discover',
  read: (value: unknown) => T | null,
  signal: AbortSignal,
): Promise<ProbeOutcome<T>> {
  try {
    // Not in the typed client's routes on every build: read defensively, like any command answer.
    const response = await watchedFetch(`/api/connections/${encodeURIComponent(connectionId)}/${action}`, {
      method: 'POST',
      signal,
    });
    if (!response.ok) return { ok: false, refused: true, message: await errorMessage(response) };
    const body = (await response.json()) as { command?: Command };
    if (!body.command) return { ok: false, refused: true, message: 'The server gave no command to follow' };
    const answered = await follow(body.command, signal);
    if (typeof answered === 'string') return { ok: false, refused: true, message: answered };
    if (answered.status === 'failed')
      return { ok: false, refused: false, message: answered.error ?? 'The host gave no reason' };
    const result = read(answered.result);
    return result === null
      ? { ok: false, refused: false, message: 'The host answered in a form this dashboard does not know' }
      : { ok: true, result };
  } catch {
    return { ok: false, refused: true, message: signal.aborted ? 'Stopped' : 'The server cannot be reached' };
  }
}

export function testConnection(connectionId: string, signal: AbortSignal): Promise<ProbeOutcome<TestResult>> {
  return probe(connectionId, 'test', readTestResult, signal);
}

export function discoverQueues(
  connectionId: string,
  signal: AbortSignal,
): Promise<ProbeOutcome<DiscoverResult>> {
  return probe(connectionId, 'discover', readDiscoverResult, signal);
}
