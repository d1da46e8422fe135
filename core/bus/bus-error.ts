export type BusErrorCode =
  | 'invalid_key'
  | 'invalid_value'
  | 'invalid_ttl'
  | 'invalid_command'
  | 'invalid_claim'
  | 'invalid_outcome'
  | 'not_found'
  | 'lease_lost'
  | 'unavailable';

/** The one error every bus driver throws, so callers handle both drivers the same way. */
export class BusError extends Error {
  override readonly name = 'BusError';
  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Turns a driver's own failure (a socket error, a Postgres or Redis error) into a BusError with code
 * `unavailable`, leaving BusErrors as they are. Drivers wrap every backend call with it.
 */
export async function backendCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof BusError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BusError('unavailable', `command bus: ${what} failed: ${reason}`, { cause: error });
  }
}
