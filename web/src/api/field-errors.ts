/**
 * The API's refusal, with the fields it names: a 400 lists its issues in `error.details`
 * (`{ path, message }`, functions/app.ts), so a form can show each next to its field. An answer
 * from elsewhere (a proxy) still gives a message.
 */
export interface Refusal {
  status: number;
  message: string;
  /** Message per field path, joined with dots: `name`, `port`, `nodes.0.host`, `queues.1`. */
  fields: Record<string, string>;
}

export async function refusalOf(
  response: Pick<Response, 'status' | 'statusText' | 'json'>,
): Promise<Refusal> {
  const refusal: Refusal = {
    status: response.status,
    message: `The server answered ${response.status} ${response.statusText}`.trim(),
    fields: {},
  };
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return refusal;
  }
  const error = (body as { error?: { message?: unknown; details?: unknown } } | null)?.error;
  if (typeof error?.message === 'string') refusal.message = error.message;
  if (Array.isArray(error?.details)) {
    for (const issue of error.details as unknown[]) {
      const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
      if (!Array.isArray(path) || path.length === 0 || typeof message !== 'string') continue;
      const key = path.map(String).join('.');
      refusal.fields[key] ??= message;
    }
  }
  return refusal;
}

/** The message for a field, or for anything under it (`nodes` shows `nodes.0.port`'s). */
export function fieldMessage(fields: Record<string, string>, field: string): string | undefined {
  if (fields[field] !== undefined) return fields[field];
  const under = Object.keys(fields).find((key) => key.startsWith(`${field}.`));
  return under === undefined ? undefined : `${under.slice(field.length + 1)}: ${fields[under]}`;
}

export const UNREACHABLE: Refusal = { status: 0, message: 'The server cannot be reached', fields: {} };
