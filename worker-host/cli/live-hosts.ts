import { sql } from 'drizzle-orm';
import type { Command, CommandBus } from '../../core/bus/command-bus';
import { type Database, rowsOf } from '../../core/db/database';

export interface LiveHost {
  host_id: string;
  hostname: string;
  pid: number;
  status: string;
}

/** Hosts with a heartbeat in the last `deadAfterSeconds` that are not stopping or stopped. */
export async function liveHosts(db: Database, deadAfterSeconds = 15): Promise<LiveHost[]> {
  return rowsOf<LiveHost>(
    await db.execute(sql`
      select host_id, hostname, pid, status from watchtower_hosts
      where status in ('running', 'paused')
        and last_heartbeat > now() - make_interval(secs => ${deadAfterSeconds}::double precision)
      order by hostname, host_id`),
  );
}

/** Polls the bus until the command is done, failed or expired, or `timeoutMs` passes. */
export async function waitForCommand(
  bus: CommandBus,
  id: string,
  timeoutMs: number,
): Promise<Command | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const command = await bus.find(id);
    if (!command || ['done', 'failed', 'expired'].includes(command.status) || Date.now() >= deadline) {
      return command;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
