import { createHash } from 'node:crypto';

/**
 * The names of spool files: `<prefix>-<time>-<n>.ndjson`, `.part` while being written, and
 * `.claimed-<prefix>` once a host claimed it for replay (spool.ts).
 */

/** One file name in the directory, read. */
export interface SpoolName {
  name: string;
  /** The name as spilled, without any claim. */
  base: string;
  /** The prefix of the host that spilled it. */
  origin: string;
  time: number;
  part: boolean;
  /** The prefix of the host that claimed it for replay. */
  claimer: string | undefined;
}

// `replaying-<prefix>`: how earlier versions claimed a file.
const NAME = /^([A-Za-z0-9_.-]+?)-(\d+)-(\d+)\.ndjson(\.part)?(?:\.(?:claimed|replaying)-(.+))?$/;

export function parseSpoolName(name: string): SpoolName | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const [, origin = '', time = '', , part, claimer] = match;
  // What precedes `.claimed-<claimer>` (or `.replaying-<claimer>`).
  const base =
    claimer === undefined ? name : name.slice(0, name.length - claimer.length).replace(/\.\w+-$/, '');
  return { name, base, origin, time: Number(time), part: part !== undefined, claimer };
}

/**
 * A host id as it goes into file names: no dot (which separates a name's parts) and no more than
 * 64 characters (a claim holds two of them, and a name at most 255 bytes).
 */
export function spoolPrefix(hostId: string): string {
  const clean = hostId.replace(/[^A-Za-z0-9_-]/g, '_') || 'host';
  if (clean.length <= 64) return clean;
  return `${clean.slice(0, 55)}_${createHash('sha256').update(hostId).digest('hex').slice(0, 8)}`;
}
