/**
 * What Postgres can store, for recorded data: a job's data, name, exception and return value are
 * the user's, and may hold anything. Checked, on each side, by what Postgres actually refuses
 * (tried on Postgres 15):
 *
 * - `text` refuses a NUL character (SQLSTATE 22021), and with it a whole flush statement;
 * - `jsonb` refuses the escape `\u0000` (22P05) and an escaped lone surrogate such as `\ud800`
 *   (22P02), which is what JSON.stringify writes for a string holding one;
 * - a raw lone surrogate in a parameter is silently turned into U+FFFD by node-postgres;
 * - control characters (ANSI escapes, BEL) are stored as they are: data, for readers to escape;
 * - nesting: JSON.stringify throws past about 4,000 levels, and `jsonb` past about 12,000 (54001).
 *   The size cap keeps stored JSON far from the latter; the depth cap keeps a payload readable.
 *
 * NUL and lone surrogates are replaced by U+FFFD, and the row is flagged `sanitized`; nesting deeper
 * than MAX_PAYLOAD_DEPTH is cut, flagged `payload_truncated` like a payload cut for size. Ordinary
 * values pay one regular expression test per string, and a payload one more cheap test for depth.
 */

export const REPLACEMENT_CHARACTER = '\ufffd';

/** Objects and arrays nested deeper than this in a payload are replaced by CUT_TOO_DEEP. */
export const MAX_PAYLOAD_DEPTH = 100;
export const CUT_TOO_DEEP = '[cut: nested too deep]';
export const CIRCULAR = '[circular]';

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE_CHARS_ALL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/**
 * In JSON.stringify's output: the escapes it writes for NUL and for a lone surrogate (it writes
 * other characters raw, and lower-case hex). A literal backslash before `u0000` matches too; that
 * only costs the slow path, which decides on the parsed value.
 */
const UNSTORABLE_ESCAPES = /\\u0000|\\ud[89a-f]/;
/** In JSON text from elsewhere: raw or escaped, in any case. */
const UNSTORABLE_JSON =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
  /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\\u0000|\\u[dD][89a-fA-F]/;

/** The text with each NUL and lone surrogate replaced by U+FFFD; the same string when it has none. */
export function cleanText(text: string): string {
  return UNSTORABLE_CHARS.test(text) ? text.replace(UNSTORABLE_CHARS_ALL, REPLACEMENT_CHARACTER) : text;
}

/** Cuts to at most `cap` UTF-16 units without splitting a surrogate pair. */
export function cutText(text: string, cap: number): string {
  if (text.length <= cap) return text;
  const last = text.charCodeAt(cap - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? cap - 1 : cap);
}

/** Text cut to `cap` characters and cleaned; `sanitized` when cleaning changed it. */
export function storableText(text: string, cap: number): { text: string; sanitized: boolean } {
  const cut = cutText(text, cap);
  const clean = cleanText(cut);
  return { text: clean, sanitized: clean !== cut };
}

/** Whether JSON.stringify output holds an escape `jsonb` refuses (or might: see UNSTORABLE_ESCAPES). */
export function hasUnstorableEscape(json: string): boolean {
  return UNSTORABLE_ESCAPES.test(json);
}

/**
 * Whether JSON text may nest objects and arrays more than `max` deep: such nesting needs more than
 * `max` opening brackets and more than 2 * `max` characters, two tests nearly every payload fails at
 * native speed. Only when both pass is the value itself walked (nestedDeeperThan).
 */
export function mayNestDeeperThan(json: string, max: number): boolean {
  if (json.length <= 2 * max) return false;
  let brackets = 0;
  for (const open of ['{', '[']) {
    for (let i = json.indexOf(open); i >= 0; i = json.indexOf(open, i + 1)) {
      if (++brackets > max) return true;
    }
  }
  return false;
}

/**
 * Whether a value JSON.stringify could write nests objects and arrays more than `max` deep. A walk
 * of the containers only: on an array of 150 small objects it cost an eighth of JSON.stringify,
 * where a scan of the JSON text, character by character, cost half.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const deeper = (current: object, depth: number): boolean => {
    if (depth >= max) return true;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const item: unknown = current[i];
        if (typeof item === 'object' && item !== null && deeper(item, depth + 1)) return true;
      }
      return false;
    }
    for (const key in current) {
      const item: unknown = (current as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null && deeper(item, depth + 1)) return true;
    }
    return false;
  };
  return typeof value === 'object' && value !== null && deeper(value, 0);
}

export interface StorableCopy {
  value: unknown;
  /** A string or key was cleaned, or a value JSON cannot hold (BigInt, a cycle) was replaced. */
  sanitized: boolean;
  /** Nesting past the depth cap was cut. */
  cut: boolean;
}

/**
 * A copy of a value that JSON.stringify can write and Postgres can store: strings and keys
 * cleaned, BigInts and cycles replaced by a marker saying what was there, and nesting past
 * `maxDepth` cut. The slow path: only for values the fast tests flagged, or that JSON.stringify
 * refused. May throw when the value does (a getter or `toJSON` that throws).
 */
export function storableCopy(value: unknown, maxDepth: number = MAX_PAYLOAD_DEPTH): StorableCopy {
  const state: StorableCopy = { value: undefined, sanitized: false, cut: false };
  const ancestors = new Set<object>();

  function copy(current: unknown, depth: number): unknown {
    switch (typeof current) {
      case 'string': {
        const cleaned = cleanText(current);
        if (cleaned !== current) state.sanitized = true;
        return cleaned;
      }
      case 'bigint':
        state.sanitized = true;
        return `[BigInt ${current}]`;
      case 'object':
        break;
      default:
        // Numbers, booleans, undefined, functions, symbols: JSON.stringify writes or leaves them out.
        return current;
    }
    if (current === null) return null;
    if (ancestors.has(current)) {
      state.sanitized = true;
      return CIRCULAR;
    }
    if (depth >= maxDepth) {
      state.cut = true;
      return CUT_TOO_DEEP;
    }
    ancestors.add(current);
    try {
      const toJSON = (current as { toJSON?: unknown }).toJSON;
      // A Date, a Buffer: what JSON.stringify would write, one level down (so a toJSON returning
      // another object with a toJSON cannot go on for ever).
      if (typeof toJSON === 'function') return copy(toJSON.call(current), depth + 1);
      if (Array.isArray(current)) return current.map((item) => copy(item, depth + 1));
      // No prototype: a key `__proto__` stays a key.
      const out: Record<string, unknown> = Object.create(null);
      for (const key of Object.keys(current)) {
        const cleanKey = cleanText(key);
        if (cleanKey !== key) state.sanitized = true;
        out[cleanKey] = copy((current as Record<string, unknown>)[key], depth + 1);
      }
      return out;
    } finally {
      ancestors.delete(current);
    }
  }

  state.value = copy(value, 0);
  return state;
}

/**
 * JSON text of an in-process value that `jsonb` takes: JSON.stringify's, copied storable only when
 * it holds what `jsonb` refuses. For the heartbeat: a host's stats hold error messages, and its
 * workers' rows the id of the job each runs, which a producer chose.
 */
export function jsonbText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  if (!hasUnstorableEscape(text)) return text;
  return JSON.stringify(storableCopy(value).value) ?? 'null';
}

export interface StorableJson {
  text: string;
  sanitized: boolean;
  cut: boolean;
}

/**
 * JSON text from outside this process (a worker process's event, a spool line) made storable in
 * `jsonb`: the same text when it holds nothing Postgres refuses. Otherwise parsed, copied storable
 * and written again; text that does not even parse is kept as a JSON string of its cleaned self.
 */
export function storableJson(text: string): StorableJson {
  if (!UNSTORABLE_JSON.test(text)) return { text, sanitized: false, cut: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { text: JSON.stringify(cleanText(text)), sanitized: true, cut: false };
  }
  const copied = storableCopy(parsed);
  return { text: JSON.stringify(copied.value) ?? 'null', sanitized: copied.sanitized, cut: copied.cut };
}
