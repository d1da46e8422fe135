import type { JobAction, Outcome } from '../lib/job-command';

export interface SentCommand {
  /** Unique per send: the same job may be sent a command again after the first was answered. */
  key: number;
  jobRowId: number;
  label: string;
  action: JobAction;
  outcome: Outcome;
}

/**
 * The job commands sent from this page, newest first: each pending until its host answered, then
 * what the host did or why it refused. Kept after the job leaves the list (a retried job is no
 * longer failed), so the answer stays readable.
 */
const SHOWN = 20;

export function SentCommands({ sent, onClear }: { sent: readonly SentCommand[]; onClear: () => void }) {
  if (sent.length === 0) return null;
  const open = sent.some((item) => item.outcome.tone === 'pending');
  return (
    <section class="card sent-commands" aria-labelledby="sent-title">
      <div class="section-head">
        <h2 id="sent-title">Commands sent</h2>
        {!open && (
          <button type="button" class="button-quiet" onClick={onClear}>
            Clear
          </button>
        )}
      </div>
      <ul role="status">
        {sent.slice(0, SHOWN).map((item) => (
          <li key={item.key} data-outcome={item.outcome.tone}>
            <span class="sent-what">
              {item.action === 'retry' ? 'Retry' : 'Delete'}{' '}
              <a href={`/jobs/${item.jobRowId}`}>{item.label}</a>
            </span>
            <span class={`outcome outcome-${item.outcome.tone}`}>{item.outcome.text}</span>
          </li>
        ))}
      </ul>
      {sent.length > SHOWN && <p class="hint">and {sent.length - SHOWN} earlier</p>}
    </section>
  );
}
