import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Command } from '../../core/bus/command-bus';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';
import { wholeNumber } from '../queries/params';
import { errorResponses, jsonResponse } from '../schemas/common';
import { type CommandResponse, CommandResponseSchema, commandBody, progressOf } from './command-view';
import { isFinished, MAX_WAIT_SECONDS } from './wait-for-command';

/**
 * How every route that sends a command answers, and how GET /api/commands/{id}/wait answers:
 * - 202 `{ command }`: sent (or still open); follow it at `Location` (/api/commands/{id}).
 * - with `?wait=N`: 200 `{ command }` once a host answered, `done` or `failed` (a failure the host
 *   reports is an answer, not an API error: read `command.status` and `command.error`); 202
 *   `{ command, timedOut: true }` if it was still pending or claimed after N seconds (it may still
 *   run: keep waiting on /api/commands/{id}/wait); 409 `conflict` if it expired (no host claimed it
 *   before its TTL, so it will never run), with the command in `details.command`.
 */

export const WaitSecondsSchema = wholeNumber(0, MAX_WAIT_SECONDS).openapi({
  description: `Seconds (at most ${MAX_WAIT_SECONDS}) to wait for a host's answer before replying`,
  example: 10,
});

export const SendQuerySchema = z
  .strictObject({
    wait: WaitSecondsSchema.optional(),
    ttl: wholeNumber(1, 3600).optional().openapi({
      type: 'integer',
      description: 'Seconds a host has to claim the command before it expires (default 300)',
    }),
  })
  .openapi('SendCommandQuery');
export type SendQuery = z.infer<typeof SendQuerySchema>;

/** The `responses` of a route that sends a command. */
export function commandResponses(...errors: number[]) {
  return {
    200: jsonResponse(
      CommandResponseSchema,
      'With `wait`: a host answered (command.status is done or failed)',
    ),
    202: jsonResponse(CommandResponseSchema, 'Sent, or still open when `wait` ran out (`timedOut: true`)'),
    ...errorResponses(400, 401, 403, 409, ...errors),
  };
}

export async function answerCommand(c: Context<AppEnv>, command: Command, waited: boolean) {
  const body: CommandResponse = {
    command: commandBody(command, await progressOf(c.get('services').bus, command)),
  };
  if (command.status === 'expired') {
    throw new HttpError(
      409,
      'conflict',
      `Command ${command.id} (${command.type}) expired: no host claimed it before ${command.expiresAt.toISOString()}, so it will not be carried out`,
      body,
    );
  }
  if (isFinished(command)) return c.json(body, 200);
  if (waited) body.timedOut = true;
  c.header('Location', `/api/commands/${command.id}`);
  return c.json(body, 202);
}
