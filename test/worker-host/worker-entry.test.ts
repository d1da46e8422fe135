import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_ENTRY } from '../../worker-host/supervisor/worker-entry';
import { testEnv } from '../setup/test-env';
import {
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  testProcessor,
  uniqueName,
  waitFor,
  workersOf,
} from './harness';

/** The command line a process was started with (Linux). */
function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

// A worker process with a JavaScript processor runs the CLI its supervisor compiled, under plain
// Node; one with a TypeScript processor runs the sources through tsx, as before.
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

  it('runs a JavaScript processor from the compiled CLI without the TypeScript loader, a TypeScript one through tsx', async () => {
    const jsQueue = uniqueName('entry-js');
    const tsQueue = uniqueName('entry-ts');
    const js = await startHost(
      configFor(jsQueue, join(import.meta.dirname, 'fixtures/js-processor.mjs')),
      database.db,
    );
    const ts = await startHost(configFor(tsQueue, testProcessor), database.db);
    const [jsWorker] = await workersOf(database.db, js.hostId);
    const [tsWorker] = await workersOf(database.db, ts.hostId);
    const jsArgs = commandLine(jsWorker!.pid!);
    const tsArgs = commandLine(tsWorker!.pid!);
    expect(jsArgs).toContain(WORKER_ENTRY);
    expect(jsArgs.join(' ')).not.toMatch(/tsx/);
    expect(tsArgs).not.toContain(WORKER_ENTRY);
    expect(tsArgs.join(' ')).toMatch(/--import \S*tsx\S* \S*worker-host\/cli\.ts worker/);

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
