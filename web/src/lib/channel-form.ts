import type { AlertChannel, AlertChannelPatch, ChannelKind, CreateAlertChannelBody } from '../api/alerts';

/**
 * A channel's dialog read into the API's body. The URL and the secret are write-only: empty on a
 * change keeps the stored one. Email recipients are one a line (or comma-separated).
 */

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

function recipients(form: FormData): string[] {
  return text(form, 'to')
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export function createChannelBody(kind: ChannelKind, form: FormData): CreateAlertChannelBody {
  const name = text(form, 'name');
  const enabled = form.get('enabled') === 'on';
  if (kind === 'email') return { kind, name, to: recipients(form), enabled };
  if (kind === 'slack') return { kind, name, url: text(form, 'url'), enabled };
  return { kind, name, url: text(form, 'url'), secret: text(form, 'secret'), enabled };
}

export function channelPatch(channel: AlertChannel, form: FormData): AlertChannelPatch {
  const patch: AlertChannelPatch = { name: text(form, 'name'), enabled: form.get('enabled') === 'on' };
  if (channel.kind === 'email') patch.to = recipients(form);
  else {
    const url = text(form, 'url');
    if (url !== '') patch.url = url;
  }
  if (channel.kind === 'webhook') {
    const secret = text(form, 'secret');
    if (secret !== '') patch.secret = secret;
  }
  return patch;
}
