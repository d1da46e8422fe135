import type { ClaimedCommand, Command, CommandBus, CommandOutcome } from './command-bus';

export type CommandHandler = (command: ClaimedCommand) => Promise<unknown>;

/**
 * Carries out claimed commands at most once by id, on top of a bus that delivers at least once.
 *
 * A command comes back when its acknowledgement was lost (a network error, a lease that ran out
 * while the host was busy). The executor remembers the outcome of what it carried out, so a second
 * delivery is answered with the first outcome instead of running the handler again. The memory is
 * bounded: the oldest outcomes are forgotten first, long after their commands' TTLs.
 */
export class CommandExecutor {
  private readonly outcomes = new Map<string, CommandOutcome>();
  private readonly running = new Set<string>();

  constructor(
    private readonly bus: CommandBus,
    private readonly handler: CommandHandler,
    private readonly options: { remember?: number } = {},
  ) {}

  /** Carries out each command (in order) and acknowledges it; returns what the bus stored. */
  async execute(commands: ClaimedCommand[]): Promise<Array<Command | Error>> {
    const answered: Array<Command | Error> = [];
    for (const command of commands) {
      // The same command handed out again while it still runs: the running copy will answer.
      if (this.running.has(command.id)) continue;
      let outcome = this.outcomes.get(command.id);
      if (!outcome) {
        this.running.add(command.id);
        try {
          outcome = await this.carryOut(command);
          this.remember(command.id, outcome);
        } finally {
          this.running.delete(command.id);
        }
      }
      answered.push(
        await this.bus.acknowledge(command.id, command.claimToken, outcome).catch((e: Error) => e),
      );
    }
    return answered;
  }

  /** Whether this executor already carried out the command (for tests and diagnostics). */
  hasCarriedOut(id: string): boolean {
    return this.outcomes.has(id);
  }

  private async carryOut(command: ClaimedCommand): Promise<CommandOutcome> {
    try {
      const result = await this.handler(command);
      return { ok: true, result: result ?? null };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, error: message || 'command failed' };
    }
  }

  private remember(id: string, outcome: CommandOutcome): void {
    this.outcomes.set(id, outcome);
    const limit = this.options.remember ?? 10_000;
    while (this.outcomes.size > limit) {
      const oldest = this.outcomes.keys().next().value;
      if (oldest === undefined) break;
      this.outcomes.delete(oldest);
    }
  }
}
