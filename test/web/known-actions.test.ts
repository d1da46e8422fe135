import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../worker-host/harness';

/**
 * The Audit page offers the actions the API writes as suggestions for its filter. An action a route
 * starts writing and the list forgets would still be filterable by typing it, but nobody would
 * know it exists: every literal `action: '…'` under functions/ must be offered. The list is read
 * as text: web/ is compiled with the DOM's types, which the tests' compilation does not have.
 */
function knownActions(): Set<string> {
  const source = readFileSync(join(repoRoot, 'web/src/lib/audit-filters.ts'), 'utf8');
  const list = /export const KNOWN_ACTIONS = \[([^\]]*)\]/.exec(source)?.[1] ?? '';
  return new Set([...list.matchAll(/'([^']+)'/g)].map((match) => match[1] as string));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("the Audit page's action suggestions", () => {
  it('hold every action the API writes under a literal name', () => {
    const written = new Set<string>();
    for (const file of sources(join(repoRoot, 'functions'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\baction: '([a-z][a-z.-]*)'/g)) {
        written.add(match[1] as string);
      }
    }
    expect(written.size).toBeGreaterThan(10);
    const offered = knownActions();
    expect(offered.size).toBeGreaterThan(10);
    expect([...written].filter((action) => !offered.has(action))).toEqual([]);
  });
});
