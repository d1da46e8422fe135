import { z } from '@hono/zod-openapi';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { recorderDeadLetters } from '../../drizzle/schema';
import { iso, TimestampSchema } from '../schemas/common';

/**
 * Rows a worker-host's recorder set aside because Postgres refused them for their content (see
 * worker-host/recorder/dead-letters.ts): newest first, paged by id.
 */

export const DeadLetterSchema = z
  .object({
    id: z.number().int(),
    hostId: z.string().openapi({ description: 'The host whose recorder set the row aside' }),
    connection: z.string(),
    queue: z.string(),
    jobId: z.string(),
    kind: z.enum(recorderDeadLetters.kind.enumValues).openapi({
      description: 'The table the row was for: job (watchtower_jobs) or attempt (watchtower_job_attempts)',
    }),
    attempt: z.number().int().nullable(),
    row: z.string().openapi({
      description:
        'The row as the recorder would have written it, as JSON text (capped at 64 KB; rowTruncated says so). ' +
        'It is the job data the user sent: show it as text, never as HTML.',
    }),
    rowTruncated: z.boolean(),
    error: z.string().openapi({ description: "Postgres's reason for refusing the row" }),
    sqlstate: z.string().nullable().openapi({
      description: 'The SQLSTATE (class 21, 22, 23 or 54); null when no statement could be built',
    }),
    createdAt: TimestampSchema,
  })
  .openapi('DeadLetter');
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export interface DeadLetterFilter {
  hostId?: string | undefined;
  connection?: string | undefined;
  queue?: string | undefined;
  /** Only rows with an id below this one (the previous page's `nextCursor`). */
  before?: number | undefined;
  limit: number;
}

/** Newest first; one more row than asked tells whether there is a next page. */
export async function listDeadLetters(
  db: StatementDatabase,
  filter: DeadLetterFilter,
): Promise<{ deadLetters: DeadLetter[]; nextCursor: number | null }> {
  const t = recorderDeadLetters;
  const conditions: SQL[] = [];
  if (filter.hostId !== undefined) conditions.push(eq(t.hostId, filter.hostId));
  if (filter.connection !== undefined) conditions.push(eq(t.connection, filter.connection));
  if (filter.queue !== undefined) conditions.push(eq(t.queue, filter.queue));
  if (filter.before !== undefined) conditions.push(lt(t.id, filter.before));
  const rows = await db
    .select()
    .from(t)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(t.id))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    deadLetters: page.map((row) => ({ ...row, createdAt: iso(row.createdAt) })),
    nextCursor: rows.length > filter.limit && last ? last.id : null,
  };
}
