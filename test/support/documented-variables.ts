import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The README's table of environment variables is the one list of them (README.md, Configuration).
 * A document, example or configuration file that names a variable must name one listed there: these
 * helpers find the names a text uses and the ones the table lacks, for any file a test reads.
 */

const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));

/**
 * Environment variable names in `text`: every UPPER_CASE word with an underscore (`DATABASE_URL`),
 * and any UPPER_CASE word read as `$NAME` or `${NAME}` (`$PORT`). Words without an underscore that
 * are not read so (SIGTERM, LISTEN, HTTP) are prose, not variables.
 */
export function variablesNamedIn(text: string): string[] {
  const names = new Set<string>();
  for (const [name] of text.matchAll(/(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![A-Za-z0-9_])/g)) {
    names.add(name);
  }
  for (const [, name] of text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)(?![A-Za-z0-9_])/g)) {
    if (name) names.add(name);
  }
  return [...names].sort();
}

/** The variables the README's Configuration table lists: the names in each row's first cell. */
export function readmeVariables(readme = readFileSync(readmePath, 'utf8')): Set<string> {
  const start = readme.indexOf('\n## Configuration\n');
  if (start < 0) throw new Error('README.md has no "## Configuration" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const [, name] of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) if (name) names.add(name);
  }
  return names;
}

/** The variables `text` names that the README's table does not list, sorted. */
export function undocumentedVariables(text: string, documented = readmeVariables()): string[] {
  return variablesNamedIn(text).filter((name) => !documented.has(name));
}
