import { cleanText, cutText } from '../recorder/storable';

/** What one check of one connection found. */
export interface HealthSample {
  connection: string;
  kind: 'redis' | 'postgres';
  /** When the check started (the host's clock, epoch ms): it decides the sample's minute. */
  at: number;
  up: boolean;
  /** Round trip of the check's PING or `select 1`, in ms (null when it failed). */
  latencyMs: number | null;
  error: string | null;
  redis: RedisFacts | null;
}

/** From Redis's INFO: what a team running BullMQ wants to see next to the round trip. */
export interface RedisFacts {
  version: string | null;
  usedMemory: number | null;
  maxmemory: number | null;
  policy: string | null;
  clients: number | null;
}

/** Longest error text kept: a line on the dashboard, not a stack trace. */
export const MAX_ERROR_CHARS = 300;

/**
 * An error as it may be logged and stored: one short line, cleaned of what Postgres refuses, and
 * with no credentials. Drivers quote the URL they were given in some messages; the URL, any
 * `scheme://user:password@` and the bare password are all taken out.
 */
export function errorText(error: unknown, url: string): string {
  let text = error instanceof Error ? error.message || error.name : String(error);
  const secrets = new Set<string>([url]);
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      secrets.add(parsed.password);
      secrets.add(decodeURIComponent(parsed.password));
    }
  } catch {
    // Not parseable: the whole URL is still taken out below.
  }
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 3) text = text.split(secret).join('***');
  }
  text = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@');
  const line = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  return cleanText(cutText(line, MAX_ERROR_CHARS));
}

/** The connection's address without credentials, for log lines: `redis://127.0.0.1:6380`. */
export function safeAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** Parses INFO's `key:value` lines (sections' `# Title` lines and blanks are skipped). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

export function redisFacts(info: Map<string, string>): RedisFacts {
  const number = (key: string) => {
    const value = info.get(key);
    const parsed = value === undefined ? Number.NaN : Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  };
  return {
    version: info.get('redis_version') ?? null,
    usedMemory: number('used_memory'),
    maxmemory: number('maxmemory'),
    policy: info.get('maxmemory_policy') ?? null,
    clients: number('connected_clients'),
  };
}
