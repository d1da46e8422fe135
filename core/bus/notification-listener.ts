/**
 * Something that can hold a Postgres LISTEN open: a dedicated connection in Node. A Cloudflare
 * Worker has none, so the database driver works without it and hosts fall back to polling.
 */
export interface NotificationListener {
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
}

export const COMMANDS_CHANNEL = 'watchtower_commands';
