/**
 * Loaded into the `watchtower supervisor` process by the host benchmark
 * (`node --import tsx --import ./test/bench/host-probe.ts worker-host/cli.ts supervisor ...`):
 * counts, at the client, every SQL statement the host sends to Postgres and every command it sends
 * to Redis, by kind, and writes the counts as JSON to $WATCHTOWER_BENCH_PROBE_FILE every 100 ms.
 * Worker processes are forked without this module, so only the supervisor is counted.
 *
 * With WATCHTOWER_BENCH_NO_PUSH=1 the host's LISTEN fails, so it runs on polling alone (the poller
 * reports the failure once and carries on, as it does when push is unavailable).
 */
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  ACKNOWLEDGE_SCRIPT,
  CLAIM_SCRIPT,
  CLEANUP_SCRIPT,
  EXTEND_LEASE_SCRIPT,
  FIND_SCRIPT,
  SEND_SCRIPT,
} from '../../core/bus/redis-scripts';

export interface ProbeCounts {
  /** Statements (Postgres) or commands (Redis) by kind, since the host started. */
  sql: Record<string, number>;
  redis: Record<string, number>;
  /** First words of the SQL statements counted as `other`, for the report. */
  otherSql: Record<string, number>;
  /** When (epoch ms) the latest bus claims and heartbeats were sent, the last 5,000 of each. */
  times: { claim: number[]; heartbeat: number[] };
  at: number;
}

const file = process.env.WATCHTOWER_BENCH_PROBE_FILE;
const noPush = process.env.WATCHTOWER_BENCH_NO_PUSH === '1';

if (file) {
  const counts: ProbeCounts = {
    sql: {},
    redis: {},
    otherSql: {},
    times: { claim: [], heartbeat: [] },
    at: Date.now(),
  };
  const stamp = (list: number[]) => {
    list.push(Date.now());
    if (list.length > 5_000) list.splice(0, list.length - 5_000);
  };
  const add = (map: Record<string, number>, key: string) => {
    map[key] = (map[key] ?? 0) + 1;
  };

  const sqlKind = (text: string): string => {
    const t = text.replace(/\s+/g, ' ').trim().toLowerCase();
    if (t.startsWith('listen ')) return 'bus listen';
    if (t.includes('watchtower_claim_commands(')) return 'bus claim';
    if (t.includes('insert into watchtower_hosts')) return 'heartbeat';
    if (t.includes('watchtower_bus_entries')) return 'bus key/value';
    if (t.includes('update watchtower_commands') && t.includes('lease_until = now() +'))
      return 'bus extend lease';
    if (t.includes('update watchtower_commands')) return 'bus acknowledge';
    if (t.includes('watchtower_commands')) return 'bus other';
    add(counts.otherSql, t.slice(0, 70));
    return 'other';
  };

  const Client = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = Client.query;
  Client.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text =
      typeof first === 'string'
        ? first
        : typeof first === 'object' && first !== null && 'text' in first
          ? String((first as { text: unknown }).text)
          : '';
    const kind = sqlKind(text);
    add(counts.sql, kind);
    if (kind === 'bus claim') stamp(counts.times.claim);
    if (kind === 'heartbeat') stamp(counts.times.heartbeat);
    if (noPush && kind === 'bus listen') {
      return Promise.reject(new Error('push disabled by the host benchmark (WATCHTOWER_BENCH_NO_PUSH=1)'));
    }
    return query.apply(this, args);
  };

  const sha = (source: string) => createHash('sha1').update(source).digest('hex');
  const scripts = new Map<string, string>([
    [sha(CLAIM_SCRIPT), 'bus claim'],
    [sha(SEND_SCRIPT), 'bus send'],
    [sha(ACKNOWLEDGE_SCRIPT), 'bus acknowledge'],
    [sha(EXTEND_LEASE_SCRIPT), 'bus extend lease'],
    [sha(FIND_SCRIPT), 'bus find'],
    [sha(CLEANUP_SCRIPT), 'bus cleanup'],
  ]);
  const redisKind = (name: string, args: unknown[]): string => {
    const lower = name.toLowerCase();
    const head = String(args[0] ?? '');
    if (lower === 'evalsha') return scripts.get(head) ?? 'other evalsha';
    if (lower === 'eval') return scripts.get(sha(head)) ?? 'other eval';
    if (head.startsWith('watchtower:')) return `bus ${lower}`;
    return `other ${lower}`;
  };
  const proto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const sendCommand = proto.sendCommand;
  proto.sendCommand = function (this: unknown, ...args: unknown[]) {
    const command = args[0] as { name?: string; args?: unknown[] } | undefined;
    if (command?.name) {
      const kind = redisKind(command.name, command.args ?? []);
      add(counts.redis, kind);
      if (kind === 'bus claim') stamp(counts.times.claim);
    }
    return sendCommand.apply(this, args);
  };

  const write = () => {
    counts.at = Date.now();
    try {
      // Whole files only: the benchmark may read at any moment.
      writeFileSync(`${file}.tmp`, JSON.stringify(counts));
      renameSync(`${file}.tmp`, file);
    } catch {
      // The benchmark reads the last complete write; a failed one is retried 100 ms later.
    }
  };
  setInterval(write, 100).unref();
  process.on('exit', write);
}
