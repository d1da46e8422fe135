import type { Redis } from 'ioredis';
import { type ConnectionDiscoverResult, DISCOVERY_LIMITS } from '../../core/commands/command-types';
import type { RedisClient } from './connection-client';

/**
 * Which BullMQ queues a Redis holds, found without KEYS (which blocks the server for as long as
 * it walks every key): SCAN with MATCH `<prefix>:*:meta` (every queue has that hash), COUNT per
 * call, on every primary of a cluster. Bounded, so a Redis of millions of keys costs at most a few
 * dozen round trips: it stops after `scannedKeys` keys looked at or `queues` queues found.
 */

export interface DiscoveryLimits {
  scannedKeys: number;
  queues: number;
  count: number;
}

export async function discoverQueues(
  client: RedisClient,
  prefix: string,
  given: Partial<DiscoveryLimits> = {},
): Promise<ConnectionDiscoverResult> {
  const limits: DiscoveryLimits = { ...DISCOVERY_LIMITS, ...definedOnly(given) };
  const nodes: Redis[] = 'nodes' in client && client.isCluster ? client.nodes('master') : [client as Redis];
  const found = new Set<string>();
  const pattern = `${escapeGlob(prefix)}:*:meta`;
  let scannedKeys = 0;
  let truncated = false;
  for (const node of nodes) {
    if (scannedKeys >= limits.scannedKeys || found.size >= limits.queues) {
      truncated = true;
      break;
    }
    // SCAN does not say how many keys it looked at; it looks at about COUNT per call, and a scan
    // that finished looked at every key: the node's DBSIZE caps the estimate.
    const size = await node.dbsize();
    let nodeScanned = 0;
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', limits.count);
      cursor = next;
      nodeScanned += limits.count;
      for (const key of keys) {
        const queue = queueOf(key, prefix);
        if (queue !== null) found.add(queue);
      }
    } while (
      cursor !== '0' &&
      scannedKeys + Math.min(nodeScanned, size) < limits.scannedKeys &&
      found.size < limits.queues
    );
    scannedKeys += cursor === '0' ? size : Math.min(nodeScanned, size);
    if (cursor !== '0') truncated = true;
  }
  let queues = [...found].sort();
  if (queues.length > limits.queues) {
    queues = queues.slice(0, limits.queues);
    truncated = true;
  }
  return { queues, truncated, scannedKeys };
}

/** `bull:emails:meta` → `emails`; null for a key that only looks like it (`bull:a:b:meta`). */
export function queueOf(key: string, prefix: string): string | null {
  const head = `${prefix}:`;
  if (!key.startsWith(head) || !key.endsWith(':meta')) return null;
  const name = key.slice(head.length, -':meta'.length);
  // BullMQ refuses `:` in a queue name, so such a key belongs to something else.
  return name.length > 0 && !name.includes(':') ? name : null;
}

/** A prefix is matched literally: `*`, `?`, `[`, `]` and `\` in it are escaped for MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function definedOnly(limits: Partial<DiscoveryLimits>): Partial<DiscoveryLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}
