import { z } from '@hono/zod-openapi';
import { type Command, type CommandBus, TARGET_KINDS } from '../../core/bus/command-bus';
import { type BulkProgress, commandProgressKey } from '../../core/commands/command-types';
import { TimestampSchema } from '../schemas/common';

/** A command as the API shows it. */

export const CommandStatusSchema = z
  .enum(['pending', 'claimed', 'done', 'failed', 'expired'])
  .openapi('CommandStatus', {
    description:
      'pending → claimed (a host holds it) → done | failed (the host answered). expired: no host claimed it before its TTL; it will never run.',
  });

const BulkProgressSchema = z
  .object({
    processed: z.number().int(),
    retried: z.number().int(),
    readded: z.number().int(),
    deleted: z.number().int(),
    skipped: z.number().int(),
    failed: z.number().int(),
    errors: z.array(z.object({ jobId: z.string(), queue: z.string(), error: z.string() })),
    complete: z.boolean(),
  })
  .openapi('BulkProgress');

export const CommandSchema = z
  .object({
    id: z.uuid(),
    target: z.object({ kind: z.enum(TARGET_KINDS), id: z.string() }),
    type: z.string().openapi({ example: 'worker.stop' }),
    args: z.record(z.string(), z.unknown()),
    status: CommandStatusSchema,
    result: z.unknown().openapi({ description: "The host's answer (null until it acknowledged)" }),
    error: z.string().nullable().openapi({ description: 'Why it failed, when status is failed' }),
    createdBy: z.string().nullable().openapi({ description: 'The actor that sent it, as kind:id' }),
    createdAt: TimestampSchema,
    expiresAt: TimestampSchema.openapi({ description: 'Not claimed by then: expired' }),
    claimedBy: z.string().nullable().openapi({ description: 'The host that claimed it' }),
    claimedAt: TimestampSchema.nullable(),
    leaseUntil: TimestampSchema.nullable(),
    deliveries: z
      .number()
      .int()
      .openapi({ description: 'Over 1: a host claimed it and vanished; another took it over' }),
    finishedAt: TimestampSchema.nullable(),
    progress: BulkProgressSchema.nullable()
      .optional()
      .openapi({ description: 'Bulk failed-job commands only: what the host reported so far' }),
  })
  .openapi('Command');
export type CommandBody = z.infer<typeof CommandSchema>;

export const CommandResponseSchema = z
  .object({
    command: CommandSchema,
    timedOut: z
      .boolean()
      .optional()
      .openapi({ description: 'Present and true when `wait` ran out while the command was still open' }),
  })
  .openapi('CommandResponse');
export type CommandResponse = z.infer<typeof CommandResponseSchema>;

const BULK_TYPES = new Set(['failed.retry-all', 'failed.delete-all']);

export function commandBody(command: Command, progress?: BulkProgress | null): CommandBody {
  const body: CommandBody = {
    id: command.id,
    target: command.target,
    type: command.type,
    args: command.args,
    status: command.status,
    result: command.result ?? null,
    error: command.error,
    createdBy: command.createdBy,
    createdAt: command.createdAt.toISOString(),
    expiresAt: command.expiresAt.toISOString(),
    claimedBy: command.claimedBy,
    claimedAt: command.claimedAt?.toISOString() ?? null,
    leaseUntil: command.leaseUntil?.toISOString() ?? null,
    deliveries: command.deliveries,
    finishedAt: command.finishedAt?.toISOString() ?? null,
  };
  if (progress !== undefined) body.progress = progress;
  return body;
}

/**
 * The progress a host reports while it carries out a bulk command (a key/value entry on the bus),
 * null for other commands or before the first report. Best effort: the progress is a convenience
 * beside the command's own status.
 */
export async function progressOf(
  bus: CommandBus,
  command: Command,
): Promise<BulkProgress | null | undefined> {
  if (!BULK_TYPES.has(command.type)) return undefined;
  try {
    return await bus.get<BulkProgress>(commandProgressKey(command.id));
  } catch {
    return null;
  }
}
