/**
 * LOCAL TEST TOOLING: the dashboard built by `scripts/build-web.ts` in a plain Node process of its
 * own. Inside a vitest worker (or a global setup), Vite would be loaded through vitest's module
 * runner, and its rewritten source leaks into the bundle (see refuseModuleRunnerLeftovers in
 * scripts/build-web.ts): the pages that load later would fail in the browser.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds web/dist (brought up to date in place, never emptied) and gives its path. */
export function buildWebInChild(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build-web.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(join(ROOT, 'web/dist'))
        : reject(new Error(`building the dashboard failed (exit code ${code}):\n${output}`)),
    );
  });
}
