import pg from 'pg';
import type { NotificationListener } from '../../core/bus/notification-listener';

/**
 * LISTEN on a dedicated node-postgres connection (Node only). When the connection drops it comes
 * back with a growing delay; meanwhile hosts keep polling, so a lost wake-up only costs latency.
 */
export class PgNotificationListener implements NotificationListener {
  constructor(private readonly databaseUrl: string) {}

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let retryDelay = 250;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    const connect = async (): Promise<void> => {
      const next = new pg.Client({ connectionString: this.databaseUrl });
      next.on('notification', (message) => {
        if (message.channel === channel && message.payload !== undefined) onMessage(message.payload);
      });
      // Only the live connection may trigger a reconnect; a half-open attempt just fails.
      next.on('error', () => client === next && reconnect());
      next.on('end', () => client === next && reconnect());
      try {
        await next.connect();
        await next.query(`listen ${pg.escapeIdentifier(channel)}`);
      } catch (error) {
        next.end().catch(() => undefined);
        throw error;
      }
      if (stopped) {
        await next.end().catch(() => undefined);
        return;
      }
      client = next;
      retryDelay = 250;
    };

    const reconnect = (): void => {
      if (stopped || retryTimer) return;
      client?.end().catch(() => undefined);
      client = undefined;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        connect().catch(() => {
          retryDelay = Math.min(retryDelay * 2, 10_000);
          reconnect();
        });
      }, retryDelay);
    };

    await connect();
    return async () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    };
  }
}
