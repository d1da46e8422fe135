import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { signIn } from '../state/session';
import { sessionExpired } from '../state/session-events';

/** Email and password; the server sets the HttpOnly session cookie. Shown in place of any page. */
export function SignIn() {
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const email = useRef<HTMLInputElement>(null);
  useEffect(() => email.current?.focus(), []);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    busy.value = true;
    error.value = null;
    const result = await signIn(String(form.get('email') ?? ''), String(form.get('password') ?? ''));
    busy.value = false;
    if (!result.ok) error.value = result.message;
  }

  return (
    <main id="main" class="sign-in">
      <form class="card sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Watchtower</h1>
        {sessionExpired.value && (
          <p class="notice" role="status" data-testid="session-expired">
            Your session expired. Sign in again to continue where you were.
          </p>
        )}
        <label>
          Email
          <input ref={email} name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error.value && (
          <p class="form-error" role="alert">
            {error.value}
          </p>
        )}
        <button type="submit" class="button-primary" disabled={busy.value}>
          {busy.value ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
