import { effect, signal } from '@preact/signals';
import { api, errorMessage, type MeBody } from '../api/client';
import { sessionEndedAt, sessionExpired } from './session-events';

/** Who is signed in: undefined while the first /api/auth/me is on its way, null when nobody. */
export const me = signal<MeBody | null | undefined>(undefined);

effect(() => {
  if (sessionEndedAt.value === 0) return;
  // Only a session that was open can expire; a 401 before sign-in is just "not signed in".
  if (me.peek()) sessionExpired.value = true;
  me.value = null;
});

export async function loadSession(): Promise<void> {
  try {
    const response = await api.api.auth.me.$get();
    me.value = response.ok ? await response.json() : null;
  } catch {
    me.value = null;
  }
}

export type SignInResult = { ok: true } | { ok: false; message: string };

export async function signIn(email: string, password: string): Promise<SignInResult> {
  let response: Awaited<ReturnType<typeof api.api.auth.login.$post>>;
  try {
    response = await api.api.auth.login.$post({ json: { email, password } });
  } catch {
    return { ok: false, message: 'The server cannot be reached. Check your connection and try again.' };
  }
  // The client's type lists the statuses the handler returns; errors come from middleware.
  const status: number = response.status;
  if (status === 429) {
    const wait = Number(response.headers.get('retry-after'));
    return {
      ok: false,
      message: `Too many attempts. Try again in ${Number.isFinite(wait) && wait > 0 ? `${wait} s` : 'a while'}.`,
    };
  }
  if (!response.ok) return { ok: false, message: await errorMessage(response) };
  sessionExpired.value = false;
  await loadSession();
  return me.value ? { ok: true } : { ok: false, message: 'Signed in, but the session was not kept.' };
}

export async function signOut(): Promise<void> {
  try {
    await api.api.auth.logout.$post();
  } finally {
    sessionExpired.value = false;
    me.value = null;
  }
}
