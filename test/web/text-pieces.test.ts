import { describe, expect, it } from 'vitest';
import {
  BLOCK_CHARACTERS,
  formatText,
  jsonPieces,
  rowsOf,
  takePrefix,
  textPieces,
} from '../../web/src/lib/text-pieces';

// The job page's long texts made in pieces (web/src/lib/text-pieces.ts): joined, exactly what
// JSON.stringify(value, null, 2) writes, however the pieces fall.

const join = (pieces: Iterable<string>) => Array.from(pieces).join('');

describe('JSON in pieces', () => {
  it('is JSON.stringify(value, null, 2), whatever the value', () => {
    const emoji = '😀'.repeat(40_000); // surrogate pairs across every slice boundary
    const values: unknown[] = [
      null,
      0,
      -1.5e-7,
      true,
      [],
      {},
      [[], {}, [1, [2, [3]]]],
      { a: 1, b: [true, null, 'x'], c: { d: {}, e: [] } },
      { '': 'empty key', 'quote"key': 'back\\slash', ctrl: '\u0001\n\t', html: '<script>' },
      { long: 'y'.repeat(100_000), emoji, lone: 'a\ud800b' },
      Array.from({ length: 2_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })),
    ];
    for (const value of values) expect(join(jsonPieces(value))).toBe(JSON.stringify(value, null, 2));
  });

  it('shows a top-level string as its own text (the recorder keeps a cut payload so)', () => {
    const text = `{"text":"${'z'.repeat(70_000)}`;
    expect(join(jsonPieces(text))).toBe(text);
    expect(join(textPieces('😀'.repeat(50_000)))).toBe('😀'.repeat(50_000));
  });

  it('gives a prefix without formatting the rest', () => {
    let made = 0;
    function* counted() {
      for (const piece of jsonPieces({ text: 'x'.repeat(5 * 1024 * 1024) })) {
        made += piece.length;
        yield piece;
      }
    }
    const prefix = takePrefix(counted(), 10_000);
    expect(prefix).toEqual({
      text: JSON.stringify({ text: 'x'.repeat(20_000) }, null, 2).slice(0, 10_000),
      complete: false,
    });
    expect(made).toBeLessThan(100_000);
    expect(takePrefix(jsonPieces({ a: 1 }), 10_000)).toEqual({ text: '{\n  "a": 1\n}', complete: true });
  });
});

describe('the whole text in blocks', () => {
  it('joins to the text, cuts after line ends, and builds the same file', async () => {
    const value = {
      rows: Array.from({ length: 20_000 }, (_, i) => ({ i, s: `row ${i}` })),
      blob: 'w'.repeat(300_000),
    };
    const expected = JSON.stringify(value, null, 2);
    const formatted = await formatText(jsonPieces(value), {
      type: 'application/json',
      signal: new AbortController().signal,
    });
    if (!formatted) throw new Error('not formatted');
    expect(formatted.blocks.join('')).toBe(expected);
    expect(formatted.length).toBe(expected.length);
    expect(formatted.blocks.length).toBeGreaterThan(expected.length / (2 * BLOCK_CHARACTERS));
    // Every block of the indented part ends a line; only the one long line is cut in blocks.
    const cutMidLine = formatted.blocks.slice(0, -1).filter((block) => !block.endsWith('\n'));
    expect(cutMidLine.length).toBeGreaterThan(0);
    expect(cutMidLine.every((block) => /^w*$/.test(block.slice(-1000)))).toBe(true);
    expect(await formatted.blob.text()).toBe(expected);
    expect(formatted.blob.type).toBe('application/json');
    expect(formatted.rows).toEqual(formatted.blocks.map(rowsOf));
  });

  it('stops when told to', async () => {
    const stop = new AbortController();
    const running = formatText(jsonPieces({ text: 'x'.repeat(20 * 1024 * 1024) }), {
      type: 'text/plain',
      signal: stop.signal,
      sliceMs: 1,
    });
    stop.abort();
    expect(await running).toBeUndefined();
  });

  it('counts the rows a block takes on screen', () => {
    expect(rowsOf('')).toBe(1);
    expect(rowsOf('a\nb\n')).toBe(2);
    expect(rowsOf('x'.repeat(241))).toBe(3);
  });
});
