import type { CommandBus } from '../../core/bus/command-bus';
import { TERMINATE_KEY } from '../../core/bus/keys';

/** The seed's `watchtower:terminate` key is read this often (not every poll: one bus read per poll). */
const SEED_TERMINATE_EVERY_MS = 30_000;

export interface TerminateKeyOptions {
  bus: CommandBus;
  /** When the host started: a terminate asked before it is not for this host. */
  startedAt: Date;
  log: (line: string) => void;
  note: (what: string, error: unknown) => void;
  /** The key asks this host to terminate: sets the host's flag, which its loop acts on. */
  onTerminate: () => void;
}

/** `watchtower terminate`'s key on the bus, read from the host's loop. */
export class TerminateKey {
  private lastCheck = 0;
  private checking = false;
  private baseline: string | undefined;

  constructor(private readonly options: TerminateKeyOptions) {}

  /** Called on every turn of the host's loop; reads the key when due. */
  tick(now: number, terminating: boolean): void {
    if (now - this.lastCheck >= SEED_TERMINATE_EVERY_MS) void this.check(now, terminating);
  }

  private async check(now: number, terminating: boolean): Promise<void> {
    if (this.checking || terminating) return;
    this.checking = true;
    this.lastCheck = now;
    try {
      // `terminate` puts this key with the time it was asked (the seed's CLI did the same). A time
      // after this host started is for it; a value without a time counts if it appeared or
      // changed since the host first looked, so a leftover key never stops a fresh host.
      const value = await this.options.bus.get<unknown>(TERMINATE_KEY);
      const text = JSON.stringify(value);
      const first = this.baseline === undefined;
      if (first) this.baseline = text;
      const at = terminateTime(value);
      const forThisHost =
        at !== undefined
          ? at > this.options.startedAt.getTime()
          : value !== null && !first && text !== this.baseline;
      if (forThisHost) {
        this.options.log(`Found ${TERMINATE_KEY}; terminating.`);
        this.options.onTerminate();
      }
    } catch (error) {
      this.options.note('terminate key', error);
    } finally {
      this.checking = false;
    }
  }
}

/** The time a terminate was asked: epoch seconds or ms, an ISO string, or `{ at }`; else undefined. */
function terminateTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  if (typeof value === 'object' && value !== null && 'at' in value)
    return terminateTime((value as { at: unknown }).at);
  return undefined;
}
