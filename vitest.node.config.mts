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
    // Two cores: files run two at a time; each file uses its own random targets and keys.
    maxWorkers: 2,
  },
});
