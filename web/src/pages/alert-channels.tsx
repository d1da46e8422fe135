import { useSignal } from '@preact/signals';
import type { AlertChannel } from '../api/alerts';
import { ChannelLastDelivery } from '../components/channel-last-delivery';
import { ChannelTest } from '../components/channel-test';
import { TableScroll } from '../components/table-scroll';
import { channelDeliveryState } from '../lib/channel-delivery';
import { alertChannels, alertDeliveries, alertRules } from '../state/alert-config';
import { isAdmin } from '../state/roles';
import { AlertChannelDialog, CHANNEL_KIND_LABELS, DeleteAlertChannelDialog } from './alert-channel-dialogs';

type Open =
  | { kind: 'create' }
  | { kind: 'edit'; channel: AlertChannel }
  | { kind: 'delete'; channel: AlertChannel }
  | null;

/** Where the target is, without ever showing it: the recipients, or whether a URL and secret are kept. */
function targetOf(channel: AlertChannel): string {
  if (channel.kind === 'email') return (channel.to ?? []).join(', ') || 'no recipients';
  const url = channel.hasUrl ? 'URL set' : 'no URL';
  if (channel.kind === 'slack') return url;
  return `${url}, ${channel.hasSecret ? 'secret set' : 'no secret'}`;
}

/** The channels; admins add, change, delete and test them. */
export function AlertChannels() {
  const list = alertChannels.data.value;
  const error = alertChannels.error.value;
  const now = alertChannels.serverTime.value ?? Date.now();
  const open = useSignal<Open>(null);
  const said = useSignal<string | null>(null);
  const admin = isAdmin.value;

  function done(text: string) {
    said.value = text;
    open.value = null;
    alertChannels.refresh();
    alertRules.refresh();
  }

  // A test is one more delivery: the channel's last one and the log both change.
  function tested() {
    alertChannels.refresh();
    alertDeliveries.refresh();
  }

  return (
    <section class="alerts-part" aria-labelledby="alerts-channels-title">
      <div class="config-head">
        <h2 id="alerts-channels-title">Channels</h2>
        {admin && (
          <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
            Add channel
          </button>
        )}
      </div>
      {said.value && (
        <p class="outcome outcome-ok" role="status">
          {said.value}
        </p>
      )}
      {error !== null && <p class="alerts-error">Cannot load the channels: {error}</p>}
      {list !== undefined &&
        (list.channels.length === 0 ? (
          <p class="empty card">No channels yet: alerts show on this page only.</p>
        ) : (
          <div class="card">
            <TableScroll label="Alert channels">
              <table class="stacked-table alerts-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Sends to</th>
                    <th scope="col">Last delivery</th>
                    {admin && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {list.channels.map((channel) => (
                    <tr
                      key={channel.id}
                      data-channel={channel.name}
                      data-last-delivery={channelDeliveryState(channel.lastDelivery).state}
                    >
                      <td class="cell-text stack-title" data-label="Name">
                        <span class="cell-main">{channel.name}</span>
                      </td>
                      <td class="stack-aside" data-label="Enabled">
                        <span class={`status ${channel.enabled ? 'status-running' : 'status-paused'}`}>
                          {channel.enabled ? 'on' : 'off'}
                        </span>
                      </td>
                      <td data-label="Kind">
                        <span>{CHANNEL_KIND_LABELS[channel.kind]}</span>
                      </td>
                      <td class="cell-text alerts-subject" data-label="Sends to">
                        <span>{targetOf(channel)}</span>
                      </td>
                      <td class="cell-text" data-label="Last">
                        <ChannelLastDelivery delivery={channel.lastDelivery} now={now} />
                      </td>
                      {admin && (
                        <td class="config-actions stack-bare" data-label="Actions">
                          <div class="config-buttons">
                            <ChannelTest channel={channel} onSent={tested} />
                            <button
                              type="button"
                              aria-label={`Edit ${channel.name}`}
                              onClick={() => (open.value = { kind: 'edit', channel })}
                            >
                              Edit
                            </button>
                            <button
                              type="button"
                              class="button-danger-quiet"
                              aria-label={`Delete ${channel.name}`}
                              onClick={() => (open.value = { kind: 'delete', channel })}
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
      <AlertChannelDialog
        open={open.value?.kind === 'create' || open.value?.kind === 'edit'}
        channel={open.value?.kind === 'edit' ? open.value.channel : null}
        onClose={() => (open.value = null)}
        onSaved={(channel, created) =>
          done(created ? `Added channel ${channel.name}.` : `Saved channel ${channel.name}.`)
        }
      />
      <DeleteAlertChannelDialog
        channel={open.value?.kind === 'delete' ? open.value.channel : null}
        onClose={() => (open.value = null)}
        onDeleted={(channel) => done(`Deleted channel ${channel.name}.`)}
      />
    </section>
  );
}
