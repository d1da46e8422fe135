import { useSignal } from '@preact/signals';
import { type AlertRule, KINDS, paramsText, scopeText } from '../api/alerts';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { alertChannels, alertRules, alertsNow } from '../state/alert-config';
import { firingAlerts } from '../state/firing-alerts';
import { canOperate } from '../state/roles';
import { AlertRuleDialog, DeleteAlertRuleDialog } from './alert-rule-dialogs';

type Open =
  | { kind: 'create' }
  | { kind: 'edit'; rule: AlertRule }
  | { kind: 'delete'; rule: AlertRule }
  | null;

/** The rules the cron evaluates; operators and admins add, change and delete them. */
export function AlertRules() {
  const list = alertRules.data.value;
  const error = alertRules.error.value;
  const now = alertRules.serverTime.value ?? Date.now();
  const channels = alertChannels.data.value?.channels ?? [];
  const open = useSignal<Open>(null);
  const said = useSignal<string | null>(null);
  const operate = canOperate.value;

  function done(text: string) {
    said.value = text;
    open.value = null;
    alertRules.refresh();
    alertsNow.refresh();
    firingAlerts.refresh();
  }

  const channelName = (id: string) =>
    channels.find((channel) => channel.id === id)?.name ?? 'a deleted channel';

  return (
    <section class="alerts-part" aria-labelledby="alerts-rules-title">
      <div class="config-head">
        <h2 id="alerts-rules-title">Rules</h2>
        {operate && (
          <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
            Add rule
          </button>
        )}
      </div>
      {said.value && (
        <p class="outcome outcome-ok" role="status">
          {said.value}
        </p>
      )}
      {error !== null && <p class="alerts-error">Cannot load the rules: {error}</p>}
      {list !== undefined &&
        (list.rules.length === 0 ? (
          <p class="empty card">No rules yet.{operate && ' Add one to be told when something goes wrong.'}</p>
        ) : (
          <div class="card">
            <TableScroll label="Alert rules">
              <table class="stacked-table alerts-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Thresholds</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Fires after</th>
                    <th scope="col">Channels</th>
                    <th scope="col">Updated</th>
                    {operate && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {list.rules.map((rule) => (
                    <tr key={rule.id} data-rule={rule.name}>
                      <td class="cell-text stack-title" data-label="Name">
                        <span class="cell-main">{rule.name}</span>
                      </td>
                      <td class="stack-aside" data-label="Enabled">
                        <span class={`status ${rule.enabled ? 'status-running' : 'status-paused'}`}>
                          {rule.enabled ? 'on' : 'off'}
                        </span>
                      </td>
                      <td data-label="Kind">
                        <span>{KINDS[rule.kind].label}</span>
                      </td>
                      <td class="cell-text alerts-message" data-label="Thresholds">
                        <span>{paramsText(rule)}</span>
                      </td>
                      <td class="cell-text alerts-subject" data-label="Scope">
                        <span>{scopeText(rule.scope)}</span>
                      </td>
                      <td class="cell-text" data-label="Fires after">
                        <span>
                          {rule.forEvaluations} {rule.forEvaluations === 1 ? 'minute' : 'minutes'}, again
                          every {rule.renotifyMinutes} min
                        </span>
                      </td>
                      <td class="cell-text alerts-subject" data-label="Channels">
                        <span>
                          {rule.channelIds.length === 0
                            ? 'none'
                            : rule.channelIds.map(channelName).join(', ')}
                        </span>
                      </td>
                      <td class="cell-text" data-label="Updated">
                        <span>
                          <RelativeTime at={rule.updatedAt} now={now} />
                          <span class="cell-sub"> by {rule.updatedBy}</span>
                        </span>
                      </td>
                      {operate && (
                        <td class="stack-bare" data-label="Actions">
                          <div class="config-buttons">
                            <button
                              type="button"
                              aria-label={`Edit ${rule.name}`}
                              onClick={() => (open.value = { kind: 'edit', rule })}
                            >
                              Edit
                            </button>
                            <button
                              type="button"
                              class="button-danger-quiet"
                              aria-label={`Delete ${rule.name}`}
                              onClick={() => (open.value = { kind: 'delete', rule })}
                            >
                              Delete
                            </button>
                          </div>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </div>
        ))}
      <AlertRuleDialog
        open={open.value?.kind === 'create' || open.value?.kind === 'edit'}
        rule={open.value?.kind === 'edit' ? open.value.rule : null}
        channels={channels}
        onClose={() => (open.value = null)}
        onSaved={(rule, created) => done(created ? `Added rule ${rule.name}.` : `Saved rule ${rule.name}.`)}
      />
      <DeleteAlertRuleDialog
        rule={open.value?.kind === 'delete' ? open.value.rule : null}
        onClose={() => (open.value = null)}
        onDeleted={(rule) => done(`Deleted rule ${rule.name}.`)}
      />
    </section>
  );
}
