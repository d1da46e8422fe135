import type { ClaimedCommand, CommandBus, CommandTarget } from '../../core/bus/command-bus';
import { formatTarget } from '../../core/bus/target';

export interface CommandPollerOptions {
  /** This host's id, recorded on what it claims. */
  claimer: string;
  /** Every target this host answers for, read at each poll (workers come and go). */
  targets: () => CommandTarget[];
  /** Milliseconds between polls when nothing wakes the poller. */
  intervalMs: number;
  leaseSeconds?: number;
  /** Most commands of one target per claim (see ClaimRequest.perTarget); default: no limit. */
  perTarget?: number;
  /** Carries out a batch; the poller does not claim again until it returns. */
  onCommands: (commands: ClaimedCommand[]) => Promise<void>;
  /** Told about every failed poll; the loop goes on regardless. */
  onError?: (error: unknown) => void;
}

/**
 * One bus read per poll for the whole host, whatever its number of workers, and an immediate read
 * when a push names one of its targets. The loop never dies of an error: it reports and waits.
 */
export class CommandPoller {
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeNow: (() => void) | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private loop: Promise<void> | undefined;
  private woken = false;
  /** Polls made so far (for the benchmark and status). */
  polls = 0;

  constructor(
    private readonly bus: CommandBus,
    private readonly options: CommandPollerOptions,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.bus.listen) {
      try {
        this.stopListening = await this.bus.listen((target) => {
          const mine = this.options.targets().some((t) => formatTarget(t) === formatTarget(target));
          if (mine) this.wake();
        });
      } catch (error) {
        // Without push the host still polls; report it and carry on.
        this.options.onError?.(error);
      }
    }
    this.loop = this.run();
  }

  /** Claims at once instead of waiting for the next interval. */
  wake(): void {
    this.woken = true;
    this.wakeNow?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await this.stopListening?.().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      try {
        this.polls++;
        const commands = await this.bus.claim({
          claimer: this.options.claimer,
          targets: this.options.targets(),
          leaseSeconds: this.options.leaseSeconds,
          perTarget: this.options.perTarget,
        });
        if (commands.length > 0) await this.options.onCommands(commands);
      } catch (error) {
        this.options.onError?.(error);
      }
      // A wake-up during the claim means another command may already be waiting.
      if (this.running && !this.woken) await this.sleep(this.options.intervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeNow = () => {
        clearTimeout(this.timer);
        this.wakeNow = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wakeNow?.(), ms);
    });
  }
}

/**
 * Whether a claimed command's TTL has ended, by the bus's clock: the claim time the bus wrote plus
 * the time since this host received the claim (`receivedAt`, `now`: this host's clock). A host
 * whose clock is off from the bus's still judges right.
 */
export function ttlEnded(
  command: Pick<ClaimedCommand, 'claimedAt' | 'expiresAt'>,
  receivedAt: number,
  now: number = Date.now(),
): boolean {
  const claimedAt = command.claimedAt?.getTime();
  if (claimedAt === undefined) return false;
  return claimedAt + (now - receivedAt) >= command.expiresAt.getTime();
}
