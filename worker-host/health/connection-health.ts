import { type ConnectionProbe, createProbe } from './connection-probe';
import { type ConnectionHealthRow, minuteOf, rollup } from './health-rollup';
import { type HealthSample, safeAddress } from './health-sample';

/**
 * Samples kept at most while they cannot be written (Postgres away): about 3.5 days of one
 * connection at 30 s, or a day of four. The oldest go first.
 */
const MAX_PENDING_SAMPLES = 10_000;

export interface ConnectionHealthOptions {
  connections: Record<string, { url: string }>;
  /** Seconds between two checks of each connection (host.healthInterval). */
  intervalSeconds: number;
  log: (line: string) => void;
}

/** What the next heartbeat writes, and what it calls once the write went through. */
export interface HealthBatch {
  rows: ConnectionHealthRow[];
  written(): void;
}

/**
 * The host's health checks: each connection it uses, every interval, on a probe of its own
 * (connection-probe.ts). Results are kept here until a heartbeat writes them as per-minute rows
 * (writeHeartbeat's extra CTE): a minute's samples stay until the minute is over and written, so
 * a later write of the same minute carries all its samples; a failed beat keeps everything.
 */
export class ConnectionHealth {
  private probes = new Map<string, ConnectionProbe>();
  private readonly due = new Map<string, number>();
  private readonly running = new Set<string>();
  private samples: HealthSample[] = [];
  /**
   * Minutes (per connection) with samples the database has not seen yet, with the number of the
   * last sample added to each: a sample that arrives while a beat is being written keeps its
   * minute dirty for the next beat.
   */
  private readonly dirty = new Map<string, number>();
  private added = 0;
  /** The policy each connection was last warned about, so the warning is loud but said once. */
  private readonly warned = new Map<string, string>();
  private closed = false;
  readonly counters = { checks: 0, failures: 0, dropped: 0 };

  constructor(private readonly options: ConnectionHealthOptions) {
    this.setConnections(options.connections);
  }

  /** A reload may add, change or remove connections; changed ones get a fresh probe. */
  setConnections(connections: Record<string, { url: string }>): void {
    const next = new Map<string, ConnectionProbe>();
    for (const [name, { url }] of Object.entries(connections)) {
      const current = this.probes.get(name);
      if (current && current.url === url) next.set(name, current);
      else next.set(name, createProbe(name, url));
    }
    for (const [name, probe] of this.probes) {
      if (next.get(name) !== probe) void probe.close();
    }
    this.probes = next;
  }

  /** Called from the host's loop: starts the checks that are due, without waiting for them. */
  tick(now: number): void {
    if (this.closed) return;
    for (const [name, probe] of this.probes) {
      if (this.running.has(name) || now < (this.due.get(name) ?? 0)) continue;
      this.due.set(name, now + this.options.intervalSeconds * 1000);
      this.running.add(name);
      void probe
        .check()
        .then((sample) => {
          // A probe replaced by a reload meanwhile reports for a URL no longer configured.
          if (this.probes.get(name) === probe && !this.closed) this.add(sample, probe.url);
        })
        .finally(() => this.running.delete(name));
    }
  }

  /** The rows the next heartbeat writes: every minute with samples it has not written yet. */
  take(): HealthBatch {
    const minutes = new Map(this.dirty);
    const samples = this.samples.filter((s) => minutes.has(key(s)));
    const rows = rollup(samples);
    return {
      rows,
      written: () => {
        for (const [minute, last] of minutes) {
          if (this.dirty.get(minute) === last) this.dirty.delete(minute);
        }
        // A minute that is over and written needs its samples no more.
        const current = minuteOf(Date.now());
        this.samples = this.samples.filter((s) => this.dirty.has(key(s)) || minuteOf(s.at) >= current);
      },
    };
  }

  stats(): Record<string, number> {
    return { ...this.counters, pending: this.samples.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    const probes = [...this.probes.values()];
    this.probes = new Map();
    await Promise.all(probes.map((probe) => probe.close()));
  }

  private add(sample: HealthSample, url: string): void {
    this.counters.checks++;
    if (!sample.up) this.counters.failures++;
    this.samples.push(sample);
    this.dirty.set(key(sample), ++this.added);
    if (this.samples.length > MAX_PENDING_SAMPLES) {
      const dropped = this.samples.splice(0, this.samples.length - MAX_PENDING_SAMPLES);
      this.counters.dropped += dropped.length;
    }
    this.warnPolicy(sample, url);
  }

  private warnPolicy(sample: HealthSample, url: string): void {
    const policy = sample.redis?.policy;
    if (!policy || this.warned.get(sample.connection) === policy) return;
    this.warned.set(sample.connection, policy);
    if (policy === 'noeviction') return;
    this.options.log(
      `WARNING: connection "${sample.connection}" (${safeAddress(url)}): Redis maxmemory-policy is "${policy}", not "noeviction". ` +
        'When Redis runs short of memory it will evict BullMQ keys and jobs will be lost or corrupted. ' +
        'Set maxmemory-policy noeviction on that server (CONFIG SET maxmemory-policy noeviction, and in redis.conf).',
    );
  }
}

function key(sample: HealthSample): string {
  return `${minuteOf(sample.at)}\u0000${sample.connection}`;
}
