import { useSignal } from '@preact/signals';
import { type Silence, scopeText } from '../api/alerts';
import { api } from '../api/client';
import { refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { ModalDialog } from '../components/modal-dialog';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { alertRules, alertSilences, alertsNow } from '../state/alert-config';
import { firingAlerts } from '../state/firing-alerts';
import { canOperate } from '../state/roles';
import { SilenceDialog } from './silence-dialog';

type Open = { kind: 'create' } | { kind: 'end'; silence: Silence } | null;

/** Silences not yet ended; operators and admins add them and end them early. */
export function AlertSilences() {
  const list = alertSilences.data.value;
  const error = alertSilences.error.value;
  const now = alertSilences.serverTime.value ?? Date.now();
  const rules = alertRules.data.value?.rules ?? [];
  const open = useSignal<Open>(null);
  const said = useSignal<string | null>(null);
  const operate = canOperate.value;

  function done(text: string) {
    said.value = text;
    open.value = null;
    alertSilences.refresh();
    alertsNow.refresh();
    firingAlerts.refresh();
  }

  function whatOf(silence: Silence): string {
    if (silence.ruleId !== null) {
      const rule = rules.find((candidate) => candidate.id === silence.ruleId);
      return `rule ${rule?.name ?? '(deleted)'}`;
    }
    return scopeText(silence.scope);
  }

  return (
    <section class="alerts-part" aria-labelledby="alerts-silences-title">
      <div class="config-head">
        <h2 id="alerts-silences-title">Silences</h2>
        {operate && (
          <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
            Add silence
          </button>
        )}
      </div>
      {said.value && (
        <p class="outcome outcome-ok" role="status">
          {said.value}
        </p>
      )}
      {error !== null && <p class="alerts-error">Cannot load the silences: {error}</p>}
      {list !== undefined &&
        (list.silences.length === 0 ? (
          <p class="empty card">No silence is in force: every alert is sent.</p>
        ) : (
          <div class="card">
            <TableScroll label="Silences">
              <table class="stacked-table alerts-table">
                <thead>
                  <tr>
                    <th scope="col">Silences</th>
                    <th scope="col">State</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Until</th>
                    <th scope="col">By</th>
                    {operate && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {list.silences.map((silence) => (
                    <tr key={silence.id} data-silence={silence.reason}>
                      <td class="cell-text stack-title alerts-subject" data-label="Silences">
                        <span class="cell-main">{whatOf(silence)}</span>
                      </td>
                      <td class="stack-aside" data-label="State">
                        <span class={`status ${silence.active ? 'status-paused' : 'status-waiting'}`}>
                          {silence.active ? 'in force' : 'starts later'}
                        </span>
                      </td>
                      <td class="cell-text alerts-message" data-label="Reason">
                        <span>{silence.reason}</span>
                      </td>
                      <td data-label="Until">
                        <time dateTime={silence.endsAt}>{new Date(silence.endsAt).toLocaleString()}</time>
                      </td>
                      <td class="cell-text" data-label="By">
                        <span>
                          {silence.createdBy}
                          <span class="cell-sub">
                            {' '}
                            <RelativeTime at={silence.createdAt} now={now} />
                          </span>
                        </span>
                      </td>
                      {operate && (
                        <td class="stack-bare" data-label="Actions">
                          <button
                            type="button"
                            aria-label={`End now: ${silence.reason}`}
                            onClick={() => (open.value = { kind: 'end', silence })}
                          >
                            End now
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </div>
        ))}
      <SilenceDialog
        open={open.value?.kind === 'create'}
        rules={rules}
        onClose={() => (open.value = null)}
        onSaved={() => done('Silence added.')}
      />
      <EndSilenceDialog
        silence={open.value?.kind === 'end' ? open.value.silence : null}
        what={open.value?.kind === 'end' ? whatOf(open.value.silence) : ''}
        onClose={() => (open.value = null)}
        onEnded={() => done('Silence ended: its alerts are sent again.')}
      />
    </section>
  );
}

function EndSilenceDialog({
  silence,
  what,
  onClose,
  onEnded,
}: {
  silence: Silence | null;
  what: string;
  onClose: () => void;
  onEnded: () => void;
}) {
  async function end(): Promise<string | null> {
    if (!silence) return null;
    try {
      const response = await api.api.alerts.silences[':id'].$delete({ param: { id: silence.id } });
      if (!response.ok) return (await refusalOf(response)).message;
    } catch {
      return UNREACHABLE.message;
    }
    onEnded();
    return null;
  }
  return (
    <ModalDialog open={silence !== null} onClose={onClose} titleId="end-silence-title">
      {silence && (
        <DialogForm
          titleId="end-silence-title"
          title="End this silence now?"
          submitLabel="End silence"
          onSubmit={end}
          onCancel={onClose}
        >
          <p class="dialog-subject">{what}</p>
          <p>{silence.reason}</p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}
