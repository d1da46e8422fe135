import type { Queue } from 'bullmq';
import { createQueue } from '../worker/queue-backend';

/**
 * The host's own BullMQ `Queue` handles, one per (connection, queue), opened on first use and
 * kept: job and queue commands, and auto balancing's depth reads, share them instead of opening a
 * connection per command.
 */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();

  constructor(private connections: Record<string, { url: string }>) {}

  /** Connections can change on reload; queues of a changed or removed connection are closed. */
  async setConnections(connections: Record<string, { url: string }>): Promise<void> {
    const stale: Queue[] = [];
    for (const [key, queue] of this.queues) {
      const name = key.slice(0, key.indexOf('\u0000'));
      if (connections[name]?.url !== this.connections[name]?.url) {
        stale.push(queue);
        this.queues.delete(key);
      }
    }
    this.connections = connections;
    await Promise.all(stale.map((queue) => queue.close().catch(() => undefined)));
  }

  names(): string[] {
    return Object.keys(this.connections);
  }

  has(connection: string): boolean {
    return Object.hasOwn(this.connections, connection);
  }

  get(connection: string, queue: string): Queue {
    const config = this.connections[connection];
    if (!config) {
      const known = this.names();
      throw new Error(
        `this host has no connection named "${connection}" (it has: ${known.length ? known.join(', ') : 'none'})`,
      );
    }
    const key = `${connection}\u0000${queue}`;
    let handle = this.queues.get(key);
    if (!handle) {
      handle = createQueue(config.url, queue);
      // A Redis hiccup must reach the command that hit it, not crash the host as an unhandled event.
      handle.on('error', () => undefined);
      this.queues.set(key, handle);
    }
    return handle;
  }

  async waiting(connection: string, queue: string): Promise<number> {
    const counts = await this.get(connection, queue).getJobCounts('wait', 'prioritized');
    return (counts.wait ?? 0) + (counts.prioritized ?? 0);
  }

  async close(): Promise<void> {
    const all = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(all.map((queue) => queue.close().catch(() => undefined)));
  }
}
