import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledProcessorPath } from '../../worker-host/supervisor/processor-build';
import { WORKER_ENTRY } from '../../worker-host/supervisor/worker-entry';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
} from './harness';

/** The command line a process was started with (Linux). */
function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

// A worker process runs the CLI its supervisor compiled, under plain Node, whether its processor is
// JavaScript or TypeScript: a TypeScript processor is compiled by the host (processor-build.ts).
describe('the worker processes’ entry', () => {
  const database = openTestDatabase();
  const scratch = scratchDir();

  afterAll(async () => {
    await killAllHosts();
    await database.close();
    scratch.cleanup();
  });

  const configFor = (queue: string, processor: string) => {
    const path = join(scratch.dir, `${uniqueName('entry-config')}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        connections: { default: { url: testEnv.redisUrl } },
        supervisors: [{ name: uniqueName('entry-sup'), connection: 'default', queues: [queue], sleep: 0.5 }],
        processors: { '*': processor },
        host: { heartbeatInterval: 0.25, pollInterval: 0.25, gracePeriod: 5 },
      }),
    );
    return path;
  };

  it('runs JavaScript and TypeScript processors from the compiled CLI, without the TypeScript loader', async () => {
    const jsQueue = uniqueName('entry-js');
    const tsQueue = uniqueName('entry-ts');
    const tsSource = join(import.meta.dirname, 'fixtures/ts-app/processor.ts');
    // The owner's extra Node flags reach every worker process (and nothing else changes).
    const js = await startHost(
      configFor(jsQueue, join(import.meta.dirname, 'fixtures/js-processor.mjs')),
      database.db,
      {
        env: { ...cliEnv(), WATCHTOWER_WORKER_NODE_OPTIONS: ' --max-old-space-size=200  --stack-size=900 ' },
        // The entry a host compiles from the sources (the package's bundle is its own entry).
        fromSources: true,
      },
    );
    // From the package's bundle, as installed: its own cli.mjs is the entry (worker-entry.ts).
    const ts = await startHost(configFor(tsQueue, tsSource), database.db);
    const bundleEntry = process.env.WATCHTOWER_TEST_CLI ?? WORKER_ENTRY;
    const [jsWorker] = await workersOf(database.db, js.hostId);
    const [tsWorker] = await workersOf(database.db, ts.hostId);
    const jsArgs = commandLine(jsWorker!.pid!);
    const tsArgs = commandLine(tsWorker!.pid!);
    expect(jsArgs).toContain(WORKER_ENTRY);
    expect(jsArgs.join(' ')).not.toMatch(/tsx/);
    expect(jsArgs.slice(1, 3)).toEqual(['--max-old-space-size=200', '--stack-size=900']);
    expect(tsArgs.join(' ')).not.toMatch(/max-old-space-size/);
    expect(tsArgs).toContain(bundleEntry);
    expect(tsArgs.join(' ')).not.toMatch(/tsx/);
    expect(tsArgs).toContain('--enable-source-maps');
    expect(tsArgs).toContain(`--processor=${compiledProcessorPath(tsSource)}`);
    // Once compiled, the host holds no esbuild service process: its only children are workers.
    // Checked on the bundle's host, which runs without tsx: a host run from the sources keeps tsx's
    // own esbuild service as a child whenever tsx had a file to transform (a cold cache).
    for (const host of [ts]) {
      const children = execFileSync('pgrep', ['-P', String(host.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
      expect(children.map((pid) => commandLine(pid).includes('worker'))).toEqual(children.map(() => true));
    }

    // The compiled TypeScript processor runs, with its local module and its package.
    const tsJobs = new Queue(tsQueue, { connection: { url: testEnv.redisUrl } });
    try {
      const greeted = await tsJobs.add('greet', { name: 'ada' });
      const refused = await tsJobs.add('greet', { name: 'bob', fail: true });
      const outcome = async (id: string) =>
        waitFor(
          async () => {
            const state = await tsJobs.getJobState(id);
            return state === 'completed' || state === 'failed' ? await tsJobs.getJob(id) : undefined;
          },
          15_000,
          `job ${id} to finish`,
        );
      expect((await outcome(greeted.id!))?.returnvalue).toEqual({ greeting: 'hello, ada' });
      const failed = await outcome(refused.id!);
      expect(failed?.failedReason).toBe('no greeting for bob');
      // The stack names the user's source file, through the compiled file's source map.
      expect((failed?.stacktrace ?? []).join('\n')).toMatch(/ts-app\/processor\.ts:\d+/);
    } finally {
      await tsJobs.obliterate({ force: true }).catch(() => undefined);
      await tsJobs.close();
    }

    const queue = new Queue(jsQueue, { connection: { url: testEnv.redisUrl } });
    try {
      const job = await queue.add('double', { n: 21 });
      const result = await waitFor(
        async () => {
          const state = await queue.getJobState(job.id!);
          return state === 'completed' ? (await queue.getJob(job.id!))?.returnvalue : undefined;
        },
        15_000,
        'the job to complete',
      );
      expect(result).toEqual({ doubled: 42 });
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await js.stop();
      await ts.stop();
    }
  });
});
