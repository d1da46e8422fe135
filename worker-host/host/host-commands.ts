import type { ClaimedCommand, CommandBus, CommandTarget } from '../../core/bus/command-bus';
import { CommandExecutor } from '../../core/bus/command-executor';
import { CommandPoller, ttlEnded } from '../bus/command-poller';
import { handleCommand } from '../commands/handle-command';
import type { Supervisor } from '../supervisor/supervisor';
import type { HostControl } from './host-control';

export interface HostCommandsOptions {
  /** What the command handlers act on. */
  host: HostControl;
  bus: CommandBus;
  /** Every target the host answers for, read at each poll (see commandTargets). */
  targets: () => CommandTarget[];
  intervalMs: number;
  /** Seconds a claimed command stays this host's without renewal (host.commandLease; fixed at start). */
  leaseSeconds: number;
  log: (line: string) => void;
  note: (what: string, error: unknown) => void;
}

/**
 * How a host carries out its commands: it claims those of all its targets (one bus read per poll,
 * woken by push), runs them one target at a time under a lease it keeps alive, and acknowledges
 * each with its answer.
 */
export class HostCommands {
  readonly counters = { commands: 0, commandErrors: 0 };
  private readonly executor: CommandExecutor;
  private readonly poller: CommandPoller;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: HostCommandsOptions) {
    this.executor = new CommandExecutor(options.bus, (command) => handleCommand(options.host, command));
    this.poller = new CommandPoller(options.bus, {
      claimer: options.host.hostId,
      targets: options.targets,
      intervalMs: options.intervalMs,
      leaseSeconds: options.leaseSeconds,
      // One command of a target at a time: see dispatch().
      perTarget: 1,
      onCommands: async (commands) => this.dispatch(commands),
      onError: (error) => options.note('command poll', error),
    });
  }

  /** Polls made so far. */
  get polls(): number {
    return this.poller.polls;
  }

  start(): Promise<void> {
    return this.poller.start();
  }

  /** Claims nothing more; the commands under way go on (see drain()). */
  stop(): Promise<void> {
    return this.poller.stop();
  }

  /** Resolves once every command under way is carried out and acknowledged. */
  async drain(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  /**
   * Runs each target's commands in order on its own chain and returns at once, so a long command
   * (a bulk retry) holds up only its own target. The poller claims one command per target, and the
   * bus hands out nothing more for a target while one of its commands is under lease (kept alive
   * while it runs): a command is claimed only when it can start. One sent behind a long command
   * stays pending on the bus meanwhile, where no lease can lapse and hand it to a second host, and
   * where it expires if its TTL ends first. Each answer wakes the poller for the next command.
   */
  private dispatch(commands: ClaimedCommand[]): void {
    const receivedAt = Date.now();
    for (const command of commands) {
      const key = `${command.target.kind}:${command.target.id}`;
      const previous = this.chains.get(key) ?? Promise.resolve();
      const next = previous.then(() => this.runCommand(command, receivedAt));
      this.chains.set(key, next);
      void next.then(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    }
  }

  private async runCommand(command: ClaimedCommand, receivedAt: number): Promise<void> {
    const what = `${command.type} ${command.id}`;
    // A command waits on its chain only when it came back while this host still ran the one before
    // it (that one's lease lapsed, say while the bus was unreachable). Past its TTL it is not
    // carried out: left unanswered, it reads as expired once its lease ends.
    if (ttlEnded(command, receivedAt) && !this.executor.hasCarriedOut(command.id)) {
      this.options.log(`Command ${what} not carried out: its TTL ended before it could start.`);
      return;
    }
    const leaseSeconds = this.options.leaseSeconds;
    const keeper = setInterval(
      () => {
        void this.options.bus
          .extendLease(command.id, command.claimToken, leaseSeconds)
          .then((kept) => {
            // Too late to stop it; said, so a second run elsewhere can be explained.
            if (!kept) this.options.note(`command ${what}`, new Error('its lease was lost while it ran'));
          })
          .catch(() => undefined);
      },
      (leaseSeconds * 1000) / 3,
    );
    try {
      const [answer] = await this.executor.execute([command]);
      this.counters.commands++;
      if (answer instanceof Error) this.options.note(`acknowledging ${what}`, answer);
      else if (answer?.status === 'failed') {
        this.counters.commandErrors++;
        this.options.log(`Command ${what} failed: ${answer.error}`);
      }
    } catch (error) {
      this.options.note(`command ${command.type}`, error);
    } finally {
      clearInterval(keeper);
      // The target's next command may be waiting on the bus for this one's answer.
      this.poller.wake();
    }
  }
}

/** The targets a host claims commands for: itself, its connections, supervisors and workers. */
export function commandTargets(
  hostId: string,
  connections: string[],
  supervisors: Supervisor[],
  departed: Iterable<string>,
): CommandTarget[] {
  const targets: CommandTarget[] = [{ kind: 'host', id: hostId }];
  for (const name of connections) targets.push({ kind: 'connection', id: name });
  for (const supervisor of supervisors) {
    if (supervisor.status === 'terminated') continue;
    targets.push({ kind: 'supervisor', id: supervisor.name });
    for (const worker of supervisor.workers) targets.push({ kind: 'worker', id: worker.id });
  }
  // Workers let go of recently: a late command for one gets a clear answer (departed-workers.ts).
  for (const id of departed) targets.push({ kind: 'worker', id });
  return targets;
}
