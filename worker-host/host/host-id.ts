import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PACKAGE_VERSION } from './package-build';

/** hostname + pid + a random suffix: unique even when a container reuses pid 1 after a restart. */
export function newHostId(): string {
  const host =
    hostname()
      .replace(/[^\x21-\x7e]/g, '-')
      .slice(0, 120) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

let version: string | undefined;

/** The package version, shown next to each host (mixed versions during a rollout are worth seeing). */
export function packageVersion(): string {
  // The installed package knows its own version (its bundle sits at another depth than the sources).
  if (PACKAGE_VERSION !== undefined) return PACKAGE_VERSION;
  if (version === undefined) {
    try {
      const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
      version = String((JSON.parse(text) as { version?: unknown }).version ?? '');
    } catch {
      version = '';
    }
  }
  return version;
}
