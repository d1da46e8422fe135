/**
 * Long texts (a payload of several MB, a stack) made in pieces, so the page never does all of the
 * work in one task: the first screenful is taken from the start of the pieces at once, and the rest
 * is made in slices between frames (formatText).
 *
 * Measured in Chromium on this project's machines (2 loaded cores, a 5 MB payload): laying out the
 * whole text in one <pre> took 1.5 to 11 s; JSON.stringify(value, null, 2) 40 to 70 ms; a Blob of
 * it 30 to 50 ms. Pieces in blocks of about 64 K characters, each `content-visibility: auto`, lay out
 * only what is on screen (5 to 25 ms for all 5 MB).
 */

/** A string longer than this is written in slices of this many characters. */
const STRING_SLICE = 32 * 1024;

/** The pieces of `text` itself, in slices (never splitting a surrogate pair). */
export function* textPieces(text: string): Generator<string> {
  for (let start = 0; start < text.length; ) {
    const end = sliceEnd(text, start, STRING_SLICE);
    yield text.slice(start, end);
    start = end;
  }
}

/**
 * The pieces of JSON.stringify(value, null, 2), in order: joined, exactly that text. A top-level
 * string is its own text (the recorder stores a payload cut at its cap as a JSON string of its
 * start, and a text reads better unquoted). Values come from JSON.parse: plain objects, arrays,
 * strings, numbers, booleans and null; anything else is written as JSON.stringify would.
 */
export function* jsonPieces(value: unknown): Generator<string> {
  if (typeof value === 'string') {
    yield* textPieces(value);
    return;
  }
  yield* valuePieces(value, '');
}

function* valuePieces(value: unknown, indent: string): Generator<string> {
  if (typeof value === 'string') {
    yield* quotedPieces(value);
    return;
  }
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < value.length; i++) {
      yield i === 0 ? `\n${inner}` : `,\n${inner}`;
      const item: unknown = value[i];
      // As JSON.stringify: what JSON cannot hold is null in an array.
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') yield 'null';
      else yield* valuePieces(item, inner);
    }
    yield `\n${indent}]`;
    return;
  }
  let first = true;
  for (const key of Object.keys(value)) {
    const item: unknown = (value as Record<string, unknown>)[key];
    // As JSON.stringify: such a property is left out of an object.
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(key)}: `;
    first = false;
    yield* valuePieces(item, inner);
  }
  yield first ? '{}' : `\n${indent}}`;
}

/** JSON.stringify(text) in slices: each slice quoted alone, without its quotes. */
function* quotedPieces(text: string): Generator<string> {
  if (text.length <= STRING_SLICE) {
    yield JSON.stringify(text);
    return;
  }
  yield '"';
  for (let start = 0; start < text.length; ) {
    const end = sliceEnd(text, start, STRING_SLICE);
    yield JSON.stringify(text.slice(start, end)).slice(1, -1);
    start = end;
  }
  yield '"';
}

/** Where a slice starting at `start` ends: `size` on, one less if that would split a surrogate pair. */
function sliceEnd(text: string, start: number, size: number): number {
  const end = Math.min(text.length, start + size);
  if (end >= text.length) return end;
  const last = text.charCodeAt(end - 1);
  return last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

export interface Prefix {
  text: string;
  /** The whole text fitted within the limit. */
  complete: boolean;
}

/** The first `limit` characters of the pieces, taking no more pieces than that needs. */
export function takePrefix(pieces: Iterator<string>, limit: number): Prefix {
  let text = '';
  for (let next = pieces.next(); !next.done; next = pieces.next()) {
    text += next.value;
    if (text.length > limit) return { text: text.slice(0, limit), complete: false };
  }
  return { text, complete: true };
}

/** Blocks of about this many characters, each laid out (or skipped off screen) on its own. */
export const BLOCK_CHARACTERS = 64 * 1024;

export interface FormattedText {
  /** The text in blocks, cut after a line end where one is near: joined, the whole text. */
  blocks: string[];
  /** Each block's screen rows at ROW_CHARACTERS a row: a size to hold for it before it is laid out. */
  rows: number[];
  length: number;
  /** The whole text as a file (built a block at a time, so no step copies all of it at once). */
  blob: Blob;
}

/** A promise that resolves after the browser has had the chance to paint and handle input. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Runs the pieces to their end in slices of at most `sliceMs` of work, yielding to the browser in
 * between; stops (resolving undefined) as soon as `signal` is aborted.
 */
export async function formatText(
  pieces: Iterator<string>,
  options: { type: string; signal: AbortSignal; sliceMs?: number },
): Promise<FormattedText | undefined> {
  const sliceMs = options.sliceMs ?? 8;
  const blocks: string[] = [];
  const rows: number[] = [];
  const parts: Blob[] = [];
  let length = 0;
  let pending = '';
  const close = (end: number) => {
    const block = pending.slice(0, end);
    pending = pending.slice(end);
    blocks.push(block);
    rows.push(rowsOf(block));
    parts.push(new Blob([block]));
    length += block.length;
  };
  let sliceStart = performance.now();
  for (let next = pieces.next(); !next.done; next = pieces.next()) {
    pending += next.value;
    if (pending.length >= BLOCK_CHARACTERS) {
      const lineEnd = pending.lastIndexOf('\n');
      // After a line end, so no line is broken in two; one line longer than two blocks is cut.
      if (lineEnd > 0) close(lineEnd + 1);
      else if (pending.length >= 2 * BLOCK_CHARACTERS) close(pending.length);
    }
    if (performance.now() - sliceStart > sliceMs) {
      await nextTask();
      if (options.signal.aborted) return undefined;
      sliceStart = performance.now();
    }
  }
  if (pending.length > 0 || blocks.length === 0) close(pending.length);
  return { blocks, rows, length, blob: new Blob(parts, { type: options.type }) };
}

/** Characters a wrapped row holds, about, in the long-text box at desktop width. */
export const ROW_CHARACTERS = 120;

/** Screen rows of a block: each line, wrapped at ROW_CHARACTERS. */
export function rowsOf(block: string): number {
  let rows = 0;
  let start = 0;
  for (;;) {
    const end = block.indexOf('\n', start);
    const lineEnd = end < 0 ? block.length : end;
    rows += Math.max(1, Math.ceil((lineEnd - start) / ROW_CHARACTERS));
    if (end < 0 || end === block.length - 1) return rows;
    start = end + 1;
  }
}
