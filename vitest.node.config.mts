import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Files whose browser checks time the page's main thread (the "no task over 200 ms"):
 * they run alone, after the rest, so that another file's Chromium, Worker and host never share
 * their cores while they measure (a 5 MB job's opening task took 259 ms once beside another file).
 */
const ALONE = ['test/browser/big-payload.test.ts', 'test/browser/job-timeline.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/setup/node-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Hosts the tests start keep their spool in this checkout, not in the user's own state
    // directory: no test run replays another's files.
    env: { WATCHTOWER_STATE_DIR: fileURLToPath(new URL('./.build/test-state', import.meta.url)) },
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/workers/**', 'node_modules/**', ...ALONE],
          // Two cores: files run two at a time; each file uses its own random targets and keys.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
