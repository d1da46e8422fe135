import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/workers/**', 'node_modules/**'],
    globalSetup: ['test/setup/node-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run two at a time; each file uses its own random targets and keys.
    maxWorkers: 2,
    // Hosts the tests start keep their spool in this checkout, not in the user's own state
    // directory: no test run replays another's files.
    env: { WATCHTOWER_STATE_DIR: fileURLToPath(new URL('./.build/test-state', import.meta.url)) },
  },
});
