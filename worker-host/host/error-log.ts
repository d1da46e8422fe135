/**
 * The errors a host's parts report: each logged at most once per message per minute, so a Redis
 * outage must not flood the log. The last one, logged or not, goes into the heartbeat's stats.
 */
export class ErrorLog {
  last: string | undefined;
  private readonly noted = new Map<string, number>();

  constructor(private readonly log: (line: string) => void) {}

  note(what: string, error: unknown): void {
    const message = `${what}: ${error instanceof Error ? error.message || error.name : String(error)}`;
    this.last = message;
    const now = Date.now();
    const last = this.noted.get(message);
    if (last !== undefined && now - last < 60_000) return;
    this.noted.set(message, now);
    if (this.noted.size > 500) this.noted.clear();
    this.log(message);
  }
}
