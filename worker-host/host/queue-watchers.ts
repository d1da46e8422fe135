import type { Database } from '../../core/db/database';
import type { ConnectionConfig } from '../config/config-schema';
import { type QueueWatcher, type QueueWatcherStats, watchQueues } from '../recorder/queue-watcher';
import type { Recorder } from '../recorder/recorder';
import type { Supervisor } from '../supervisor/supervisor';
import { backendKind } from '../worker/queue-backend';

export interface QueueWatchersOptions {
  db: Database;
  recorder: Recorder;
  hostId: string;
  /** Bytes of data, result and message recorded per job (recorder.maxPayloadBytes; fixed at start). */
  payloadCap: number;
  note: (what: string, error: unknown) => void;
}

/** Jobs added by producers reach the recorder through a queue watcher per Redis connection. */
export class QueueWatchers {
  private watchers: QueueWatcher[] = [];

  constructor(private readonly options: QueueWatchersOptions) {}

  /** Watches the queues of these supervisors, one watcher per connection. */
  start(supervisors: Supervisor[], connections: Record<string, ConnectionConfig>): void {
    const byConnection = new Map<string, Set<string>>();
    for (const supervisor of supervisors) {
      const set = byConnection.get(supervisor.config.connection) ?? new Set<string>();
      for (const queue of supervisor.config.queues) set.add(queue);
      byConnection.set(supervisor.config.connection, set);
    }
    for (const [connection, queues] of byConnection) {
      const url = connections[connection]?.url;
      // The watcher reads Redis streams; BullMQ's Postgres backend has none to read.
      if (!url || backendKind(url) !== 'redis') continue;
      try {
        this.watchers.push(
          watchQueues({
            db: this.options.db,
            connection,
            url,
            queues: [...queues],
            recorder: this.options.recorder,
            hostId: this.options.hostId,
            payloadCap: this.options.payloadCap,
            onError: (error) => this.options.note(`queue watcher ${connection}`, error),
          }),
        );
      } catch (error) {
        this.options.note(`queue watcher ${connection}`, error);
      }
    }
  }

  async close(): Promise<void> {
    const watchers = this.watchers;
    this.watchers = [];
    await Promise.all(
      watchers.map((w) => w.close().catch((error: unknown) => this.options.note('queue watcher', error))),
    );
  }

  stats(): QueueWatcherStats[] {
    return this.watchers.map((w) => w.stats());
  }
}
