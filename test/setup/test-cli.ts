import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkerHost } from '../../scripts/build-worker-host';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * LOCAL TEST TOOLING: the worker-host package's code (scripts/build-worker-host.ts, without its
 * declarations) bundled once for the Node suites, into a folder of this run's own, so the package
 * build a test runs (`npm pack`) never replaces it under a running host. The tests start every
 * host and CLI command from it (test/worker-host/harness.ts, cliArgs): the code users install,
 * under plain Node. Answers the folder's removal.
 */
export async function bundleTestCli(): Promise<() => void> {
  const dir = join(ROOT, '.build', 'test-cli', String(process.pid));
  rmSync(dir, { recursive: true, force: true });
  await bundleWorkerHost(dir);
  process.env.WATCHTOWER_TEST_CLI = join(dir, 'cli.mjs');
  return () => rmSync(dir, { recursive: true, force: true });
}
