import type { Command, CommandBus } from '../../core/bus/command-bus';

/**
 * Waiting for a command's answer inside a Cloudflare Worker: it cannot LISTEN, so it asks the bus
 * again with a short backoff (25 ms doubling to 500 ms). A command a host answers within its first
 * poll is seen within ~0.4 s; a 25 s wait costs about 55 reads (each one indexed row, or one Redis
 * script call), which also stays inside the Workers subrequest limits on the redis bus.
 */

/** The longest `wait` a request may ask for: under the ~30 s after which proxies and clients give up. */
export const MAX_WAIT_SECONDS = 25;

const FIRST_DELAY_MS = 25;
const MAX_DELAY_MS = 500;

export function isFinished(command: Command): boolean {
  return command.status === 'done' || command.status === 'failed' || command.status === 'expired';
}

/**
 * Reads the command until it is finished (done, failed, expired) or `seconds` have passed, or the
 * client went away. Null if the command does not exist.
 */
export async function waitForCommand(
  bus: CommandBus,
  id: string,
  seconds: number,
  signal?: AbortSignal,
): Promise<Command | null> {
  const deadline = Date.now() + Math.min(seconds, MAX_WAIT_SECONDS) * 1000;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    const command = await bus.find(id);
    if (command === null || isFinished(command) || signal?.aborted) return command;
    const left = deadline - Date.now();
    if (left <= 0) return command;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}
