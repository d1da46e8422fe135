import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliEnv,
  type HostProcess,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

/**
 * Worker processes run the user's code: they get the host's environment without Watchtower's own
 * credentials (its database, the command bus, the API's admin), unless a supervisor passes them.
 */
describe("the worker processes' environment", () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const plain = testQueue(uniqueName('env-plain'));
  const passing = testQueue(uniqueName('env-passing'));
  let host: HostProcess;

  beforeAll(async () => {
    const config = writeConfig(scratch.dir, [
      { name: uniqueName('env-plain'), queues: [plain.name] },
      { name: uniqueName('env-passing'), queues: [passing.name], passEnv: ['DATABASE_URL', 'UPSTASH_*'] },
    ]);
    const env = cliEnv({
      WATCHTOWER_BUS_REDIS_URL: 'redis://:bus-secret@127.0.0.1:6379',
      UPSTASH_REDIS_REST_URL: 'https://upstash.invalid',
      UPSTASH_REDIS_REST_TOKEN: 'upstash-secret',
      WATCHTOWER_ADMIN_TOKEN: 'admin-secret',
      MY_APP_API_KEY: 'the-app-needs-this',
    });
    host = await startHost(config, db, { env, workers: 2 });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllHosts();
    await Promise.all([plain, passing].map((q) => q.obliterate({ force: true }).finally(() => q.close())));
    await database.close();
    scratch.cleanup();
  });

  const variablesSeenOn = async (queue: ReturnType<typeof testQueue>): Promise<string[]> => {
    const job = await queue.add('env', { env: true });
    return waitFor(
      async () => {
        const done = await queue.getJob(job.id!);
        return (done?.returnvalue as { env?: string[] } | undefined)?.env;
      },
      20_000,
      `the job on ${queue.name} to return its environment`,
    );
  };

  it("withholds Watchtower's secrets by default, and keeps the rest", async () => {
    const names = await variablesSeenOn(plain);
    for (const secret of [
      'DATABASE_URL',
      'WATCHTOWER_BUS_REDIS_URL',
      'UPSTASH_REDIS_REST_URL',
      'UPSTASH_REDIS_REST_TOKEN',
      'WATCHTOWER_ADMIN_TOKEN',
      'WATCHTOWER_COMMAND_BUS',
    ]) {
      expect(names).not.toContain(secret);
    }
    expect(names).toEqual(expect.arrayContaining(['MY_APP_API_KEY', 'PATH']));
  });

  it('passes what a supervisor lists in passEnv, and only that', async () => {
    const names = await variablesSeenOn(passing);
    expect(names).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'UPSTASH_REDIS_REST_URL',
        'UPSTASH_REDIS_REST_TOKEN',
        'MY_APP_API_KEY',
      ]),
    );
    expect(names).not.toContain('WATCHTOWER_BUS_REDIS_URL');
    expect(names).not.toContain('WATCHTOWER_ADMIN_TOKEN');
  });
});
