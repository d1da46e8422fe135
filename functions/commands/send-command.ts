import type { Context } from 'hono';
import { BusError } from '../../core/bus/bus-error';
import type { CommandTarget } from '../../core/bus/command-bus';
import { type CommandType, CommandValidationError, parseCommand } from '../../core/commands/command-types';
import { isStatementCancelled } from '../../core/db/statement-timeout';
import { recordAudit, updateAuditOutcome } from '../audit';
import type { AppEnv } from '../env';
import { HttpError, queryTimedOut } from '../http-error';
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
 * worker-host's own schemas, writes the audit row, sends it as the request's actor, leaves the
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
  const { bus, db } = c.get('services');
  const actor = c.get('actor');
  const details = { type: request.type, target: request.target, args };
  // The audit row first, saying the command was not sent; the send; then the row's outcome. A
  // failed insert stops the request before anything went out, so a retry cannot duplicate the
  // command, and a request that dies midway leaves a row saying so rather than no row.
  const auditId = await recordAudit(c, {
    ...request.audit,
    result: 'error',
    details: { ...details, error: 'not sent: the request ended before the send' },
  });
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
    const timedOut = isStatementCancelled(error);
    const message = timedOut
      ? 'not sent: the statement timeout cancelled the send'
      : error instanceof Error
        ? error.message
        : String(error);
    await updateAuditOutcome(db, auditId, { result: 'error', details: { ...details, error: message } });
    if (error instanceof BusError && error.code.startsWith('invalid_')) {
      throw new HttpError(400, 'bad_request', error.message);
    }
    if (timedOut) throw queryTimedOut();
    if (error instanceof BusError) throw new HttpError(503, 'unavailable', message);
    throw error;
  }
  // The command is out: from here a failure must not answer 500 (the client would send it again).
  await updateAuditOutcome(db, auditId, { result: 'accepted', commandId: command.id, details }).catch(
    (error: unknown) => {
      console.error(
        `watchtower: command ${command.id} was sent but its audit row ${auditId} could not be updated:`,
        error instanceof Error ? error.message : error,
      );
    },
  );
  await rememberPending(c, command);
  const wait = options.wait ?? 0;
  if (wait > 0) {
    const answered = await waitForCommand(bus, command.id, wait, c.req.raw.signal);
    return answerCommand(c, answered ?? command, true);
  }
  return answerCommand(c, command, false);
}
