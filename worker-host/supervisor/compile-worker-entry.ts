/**
 * `node --import tsx worker-host/supervisor/compile-worker-entry.ts`: compiles the worker processes'
 * entry ahead of time, for an install whose worker-host/.build/ the supervisor cannot write (the
 * container image runs as an unprivileged user). Not imported by anything: never in the entry itself.
 */
import { buildWorkerEntry } from './worker-entry';

const { path, error } = await buildWorkerEntry();
if (path === undefined) {
  process.stderr.write(`worker entry: ${error}\n`);
  process.exit(1);
}
process.stdout.write(`worker entry: ${path}\n`);
