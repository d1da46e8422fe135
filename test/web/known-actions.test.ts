import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_ACTIONS } from '../../web/src/lib/audit-filters';
import { repoRoot } from '../worker-host/harness';

/**
 * The Audit page offers the actions the API writes as suggestions for its filter. An action a route
 * starts writing and the list forgets would still be filterable by typing it, but nobody would
 * know it exists: every literal `action: '…'` under functions/ must be offered.
 */
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
    const offered = new Set<string>(KNOWN_ACTIONS);
    expect([...written].filter((action) => !offered.has(action))).toEqual([]);
  });
});
