import { signal } from '@preact/signals';

/**
 * Set when a request answered 401 while signed in: the sign-in page then says the session expired.
 * Kept apart from session.ts so the API client can raise it without importing the client back.
 */
export const sessionExpired = signal(false);

/** Bumped on every 401, so the session state drops the user. */
export const sessionEndedAt = signal(0);

export function sessionEnded(): void {
  sessionEndedAt.value = Date.now();
}
