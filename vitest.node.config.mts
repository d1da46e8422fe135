import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The heaviest browser files (a 5 MB job formatted in the page; a job's timeline among many jobs)
 * run alone, after the rest: beside another file's Chromium, Worker and host on two busy cores, a
 * page of theirs once took longer than the 45 s a step may wait. Nothing in them times the machine.
 */
const ALONE = ['test/browser/big-payload.test.ts', 'test/browser/job-timeline.test.ts'];

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
