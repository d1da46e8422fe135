import { z } from '@hono/zod-openapi';
import { MIN_SEARCH_LENGTH } from '../../core/db/job-search';
import { DateTimeParam, singleLineText } from '../schemas/common';

/** Request pieces the routes of workers, hosts, supervisors, queues and jobs share. */

/**
 * What the bus accepts as a target id (worker ids, host ids, supervisor and connection names):
 * 1 to 200 printable ASCII characters without spaces.
 */
export function targetId(what: string) {
  return z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .openapi({ description: what });
}

/** A queue or job name: one line of 1 to 200 characters. */
export const NameText = singleLineText({ min: 1, max: 200 });

/** `{id}` of a job row: Watchtower's numeric row id. */
export const JobRowParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "must be a job's row id (a positive whole number)")
    .transform(Number)
    .refine(Number.isSafeInteger, "must be a job's row id (a positive whole number)")
    .openapi({ param: { name: 'id', in: 'path' }, example: '1042' }),
});

/**
 * A whole number in a query string, written in plain decimal digits: `0x10`, `1e3` or ` 5` are
 * refused rather than read as some number the client did not mean (z.coerce would take them).
 */
export function wholeNumber(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: 'integer', minimum: min, maximum: max });
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * The worker-host's command schemas take any text as a queue or supervisor name; the API also
 * refuses control characters anywhere in a command body (NUL cannot even be stored in Postgres).
 */
export function refuseControlCharacters<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const walk = (node: unknown, path: (string | number)[]): void => {
      if (typeof node === 'string') {
        if (hasControlCharacter(node))
          ctx.addIssue({ code: 'custom', path, message: 'must not contain control characters' });
      } else if (Array.isArray(node)) {
        for (const [index, item] of node.entries()) walk(item, [...path, index]);
      } else if (typeof node === 'object' && node !== null) {
        for (const [key, item] of Object.entries(node)) walk(item, [...path, key]);
      }
    };
    walk(value, []);
  }) as T;
}

/** BullMQ's timestamp of a job (`job.timestamp`, ms since the epoch), as the API's `jobTimestamp` gives it. */
export const JobTimestampParam = z
  .string()
  .regex(/^\d{1,16}$/, "must be a job's timestamp (milliseconds since the epoch, a whole number)")
  .transform(Number)
  .pipe(z.number().int().max(8_640_000_000_000_000))
  .openapi({ type: 'integer', example: '1796464283528' });

export const SortSchema = z
  .enum(['newest', 'oldest'])
  .default('newest')
  .openapi({ description: 'By queued_at (then id)' });

export const PageLimitSchema = wholeNumber(1, 200).default(50);

export const CursorParam = z
  .string()
  .min(1)
  .max(200)
  .openapi({ description: "The previous page's nextCursor" });

export const SearchParam = singleLineText({ min: MIN_SEARCH_LENGTH, max: 200 }).openapi({
  description:
    'Words to find in the job id, name, exception or the start of the data (at least 3 characters in all). ' +
    'Every word must appear, in any order; punctuation separates parts that must appear together ' +
    '("user42@example.com", "card_declined"); a word ending in * may end with the start of a longer part ("ord_4c*"). ' +
    'To open one job by its BullMQ id use /api/jobs/{connection}/{queue}/{jobId}.',
});

export const IsoDateTime = DateTimeParam;
