import { z } from '@hono/zod-openapi';
import type { ErrorCode } from '../http-error';

/**
 * Building blocks for route schemas: the one error shape as an OpenAPI component, text that is
 * safe to store, ids, pagination. Every route's request and response schemas are zod, so the same
 * definitions validate requests and generate `GET /api/openapi.json`.
 */

const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_requests',
  'misconfigured',
  'unavailable',
  'internal_error',
] as const satisfies readonly ErrorCode[];

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ description: 'Stable, machine-readable; switch on this.' }),
      message: z.string().openapi({ description: 'For people; may change.' }),
      details: z.unknown().optional().openapi({
        description: 'For validation errors: the list of issues, each with location, path, code and message.',
      }),
    }),
  })
  .openapi('Error');

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: malformed JSON or a value that fails validation (see `details`)',
  401: 'No valid credentials',
  403: 'The credentials lack the needed role, or a cross-site write with a cookie',
  404: 'Unknown id',
  409: 'Conflicts with the current state',
  413: 'Body over the size limit',
  415: 'Body is not JSON',
  429: 'Too many attempts; see Retry-After',
  503: 'A backend is unavailable',
};

/** `responses` entries for error statuses, all with the one error shape. */
export function errorResponses(...statuses: number[]) {
  const responses: Record<
    number,
    { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }
  > = {};
  for (const status of statuses) {
    responses[status] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/json': { schema: ErrorSchema } },
    };
  }
  return responses;
}

/** A JSON request body, required (a missing or non-JSON body is refused, never read as `{}`). */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    required: true,
    description,
    content: { 'application/json': { schema } },
  } as const;
}

/** A JSON response with a description. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

// C0 controls and DEL. NUL would fail in Postgres (text cannot hold it) and the others have no
// place in names and identifiers; tab and newline are allowed only in `multilineText`.
function hasControl(value: string, allowLineBreaks: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x7f) return true;
    if (code < 0x20 && !(allowLineBreaks && (code === 0x09 || code === 0x0a || code === 0x0d))) return true;
  }
  return false;
}

/** One line of text (a name, a label): no control characters, bounded length. */
export function singleLineText(options: { min?: number; max: number }) {
  return z
    .string()
    .min(options.min ?? 0)
    .max(options.max)
    .refine((value) => !hasControl(value, false), 'must not contain control characters');
}

/** Free text that may span lines (a reason, a note): no other control characters, bounded length. */
export function multilineText(options: { min?: number; max: number }) {
  return z
    .string()
    .min(options.min ?? 0)
    .max(options.max)
    .refine((value) => !hasControl(value, true), 'must not contain control characters');
}

/** An email address (compared and stored lower-cased by the services). */
export const EmailSchema = z.email().max(254).openapi({ example: 'ada@example.com' });

export const RoleSchema = z.enum(['viewer', 'operator', 'admin']).openapi('Role');

/** Path parameter `{id}` holding a uuid. */
export const UuidParams = z.object({
  id: z
    .uuid()
    .openapi({ param: { name: 'id', in: 'path' }, example: '0b9e8f3c-0d3a-4d8e-9c1e-2f3a4b5c6d7e' }),
});

/**
 * A whole number in a query string. Not `z.coerce.number()`: that takes `0x10`, `1e2` and ` 7 `
 * (anything `Number()` reads); a query parameter should be plain digits.
 */
export function integerQuery(options: { min: number; max: number; default: number }) {
  return digitsQuery(options).default(String(options.default)).transform(Number).pipe(integerIn(options));
}

/** Like `integerQuery`, for an optional parameter without a default (undefined when absent). */
export function optionalIntegerQuery(options: { min: number; max: number }) {
  return digitsQuery(options)
    .optional()
    .transform((value) => (value === undefined ? undefined : Number(value)))
    .pipe(integerIn(options).optional());
}

function digitsQuery(options: { min: number; max: number; default?: number }) {
  const digits = Math.max(String(options.max).length, String(options.min).length);
  return z
    .string()
    .regex(new RegExp(`^[0-9]{1,${digits}}$`), 'must be a whole number')
    .openapi({
      description: `${options.min} to ${options.max}${options.default === undefined ? '' : `, default ${options.default}`}`,
    });
}

function integerIn(options: { min: number; max: number }) {
  return z.number().int().min(options.min).max(options.max);
}

/** Page size for key-paginated lists. */
export const LimitSchema = integerQuery({ min: 1, max: 500, default: 50 });

/** Timestamps are ISO 8601 strings in responses. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/**
 * An ISO 8601 date-time in a request: also one Postgres can read. Postgres has no year 0, so
 * `0000-01-01T00:00:00Z` would otherwise reach the database and fail there as a 500.
 */
export const DateTimeParam = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
  .refine((value) => !value.startsWith('0000-'), 'must be a date-time from year 1 on');

export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}
