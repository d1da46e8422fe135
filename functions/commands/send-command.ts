import type { Context } from 'hono';
import { BusError } from '../../core/bus/bus-error';
import type { CommandTarget } from '../../core/bus/command-bus';
import { type CommandType, CommandValidationError, parseCommand } from '../../core/commands/command-types';
import { recordAudit } from '../audit';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { answerCommand, type SendQuery } from './command-answer';
import { rememberPending } from './pending-requests';
import { waitForCommand } from './wait-for-command';

export interface CommandRequest {
  target: CommandTarget;
  type: CommandType;
  args: Record<string, unknown>;
  /** The audit row: `<resource>.<verb>` and what it is about. */
  audit: { action: string; targetType: string; targetId: string };
}

/**
 * Puts a command on the bus for a route and answers (see command-answer.ts): validates it with the
 * worker-host's own schemas, sends it as the request's actor, writes the audit row, leaves the
 * pending marker (redis bus), and with `wait` waits for the host's answer.
 */
export async function sendCommand(c: Context<AppEnv>, request: CommandRequest, options: SendQuery) {
  let args: Record<string, unknown>;
  try {
    args = parseCommand({ type: request.type, target: request.target, args: request.args }).args;
  } catch (error) {
    if (error instanceof CommandValidationError) {
      throw new HttpError(400, 'bad_request', error.message, { fields: error.fields });
    }
    throw error;
  }
  const { bus } = c.get('services');
  const actor = c.get('actor');
  let command: Awaited<ReturnType<typeof bus.send>>;
  try {
    command = await bus.send({
      target: request.target,
      type: request.type,
      args,
      ttl: options.ttl,
      createdBy: `${actor.kind}:${actor.id}`.slice(0, 200),
    });
  } catch (error) {
    // Refused input changed nothing, so it leaves no audit row (like every other 4xx).
    if (error instanceof BusError && error.code.startsWith('invalid_')) {
      throw new HttpError(400, 'bad_request', error.message);
    }
    const message = error instanceof Error ? error.message : String(error);
    await recordAudit(c, {
      ...request.audit,
      result: 'error',
      details: { type: request.type, target: request.target, args, error: message },
    });
    if (error instanceof BusError) throw new HttpError(503, 'unavailable', message);
    throw error;
  }
  await recordAudit(c, {
    ...request.audit,
    result: 'accepted',
    commandId: command.id,
    details: { type: request.type, target: request.target, args },
  });
  await rememberPending(c, command);
  const wait = options.wait ?? 0;
  if (wait > 0) {
    const answered = await waitForCommand(bus, command.id, wait, c.req.raw.signal);
    return answerCommand(c, answered ?? command, true);
  }
  return answerCommand(c, command, false);
}
