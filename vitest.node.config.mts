import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/setup/node-global-setup.ts'],
    // A failing browser test screenshots its pages and prints their errors (see the file).
    setupFiles: ['test/browser/support/failure-report.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Hosts the tests start keep their spool in this checkout, not in the user's own state
    // directory: no test run replays another's files.
    env: { WATCHTOWER_STATE_DIR: fileURLToPath(new URL('./.build/test-state', import.meta.url)) },
    include: ['test/**/*.test.ts'],
    exclude: ['test/workers/**', 'node_modules/**'],
    // Three files at a time on two cores: most of a file's time is waiting (for a host, a page, a
    // poll), and two at a time left the cores idle 40% of the run. Each file uses its own random
    // targets, keys and databases.
    maxWorkers: 3,
  },
});
