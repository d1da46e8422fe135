import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cliArgs,
  cliEnv,
  HostProcess,
  killAllHosts,
  openTestDatabase,
  repoRoot,
  runCli,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

/**
 * `watchtower status --local` against real hosts started through the CLI, each group with its own
 * state directory (the suite's shared one holds other files' hosts): healthy while the host runs,
 * unhealthy once it is frozen (SIGSTOP) past the staleness limit and healthy again when it goes
 * on, unhealthy when it is killed outright, healthy again with a new host in the same directory,
 * and unhealthy once it stopped. A supervisor whose processor dies on import is unhealthy; a host
 * whose Postgres cannot be reached is healthy while its recorder keeps the rows, and says so.
 */
// One after the other: three hosts starting at once on a loaded machine took longer to register
// than the harness waits.
describe('watchtower status --local', () => {
  const database = openTestDatabase();
  const scratch = scratchDir();
  const queues: string[] = [];

  afterAll(async () => {
    await killAllHosts();
    for (const name of queues) {
      const queue = testQueue(name);
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await database.close();
    scratch.cleanup();
  });

  function envFor(state: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return cliEnv({ WATCHTOWER_STATE_DIR: join(scratch.dir, state), ...extra });
  }

  /** Runs `status --local` until it exits with `code` and its output matches; returns that output. */
  async function statusUntil(env: NodeJS.ProcessEnv, code: number, match: RegExp, args: string[] = []) {
    let last = '';
    try {
      return await waitFor(
        async () => {
          const run = await runCli(['status', '--local', ...args], { env });
          last = `exit ${run.code}: ${run.stdout}${run.stderr}`;
          return run.code === code && match.test(run.stdout) ? run.stdout : undefined;
        },
        40_000,
        `status --local to exit ${code} matching ${match}`,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nlast: ${last}`);
    }
  }

  it('refuses options that do not go together, with exit 2 and the reason', async () => {
    const env = envFor('usage');
    for (const [args, message] of [
      [['--local', '--all'], '--all and --local do not go together'],
      [['--local', '--stale-after=0'], '--stale-after must be a number from 1 to 3600, got "0"'],
      [['--stale-after=5'], '--stale-after goes with --local'],
    ] as const) {
      const run = await runCli(['status', ...args], { env });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });

  it('follows a host through running, frozen, killed, replaced and stopped', {
    timeout: 120_000,
  }, async () => {
    const env = envFor('lifecycle');
    const none = await runCli(['status', '--local'], { env });
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/^unhealthy: no host is running on this machine/);

    const queue = uniqueName('health-q');
    queues.push(queue);
    const config = writeConfig(scratch.dir, [{ name: uniqueName('health-sup'), queues: [queue] }]);
    const first = await startHost(config, database.db, { env });
    // The file is written once a second: it may still show the worker process starting.
    const healthy = await statusUntil(env, 0, /^healthy: .*1\/1 worker processes running/);
    expect(healthy).toContain(`host ${first.hostId} (pid ${first.pid}) running`);
    expect(healthy).toContain('heartbeat ');
    expect(healthy.trim().split('\n')).toHaveLength(1);

    // Frozen: the loop stops writing; past the staleness limit (3 s here) it is a stuck host.
    process.kill(first.pid, 'SIGSTOP');
    try {
      const stuck = await statusUntil(env, 1, /has not updated its health/, ['--stale-after=3']);
      expect(stuck).toContain(`host ${first.hostId}`);
    } finally {
      process.kill(first.pid, 'SIGCONT');
    }
    await statusUntil(env, 0, /^healthy: /, ['--stale-after=3']);

    // Killed outright: its file stays, its pid is gone.
    first.kill();
    await first.exited;
    const gone = await runCli(['status', '--local'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/^unhealthy: host \S+ \(pid \d+\) is gone/);

    // The host that replaces it clears the dead one's file: one crash does not fail every later check.
    const second = await startHost(config, database.db, { env });
    const back = await statusUntil(env, 0, /^healthy: /);
    expect(back).toContain(`host ${second.hostId}`);
    expect(back).not.toContain(first.hostId);

    // Stopped cleanly: its file goes with it, and nothing runs here any more.
    expect(await second.stop()).toBe(0);
    const after = await runCli(['status', '--local', '--json'], { env });
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout)).toMatchObject({ healthy: false, hosts: [] });
  });

  it('is unhealthy when a supervisor keeps no worker process running (a crash loop)', {
    timeout: 90_000,
  }, async () => {
    const env = envFor('crash-loop');
    const broken = join(scratch.dir, 'broken-processor.mjs');
    writeFileSync(broken, `throw new Error('broken on import');\n`);
    const queue = uniqueName('health-broken');
    queues.push(queue);
    const supervisor = uniqueName('broken-sup');
    const config = join(scratch.dir, `${uniqueName('broken')}.json`);
    // The suite's configuration, with the broken processor for every queue.
    const base = JSON.parse(
      readFileSync(writeConfig(scratch.dir, [{ name: supervisor, queues: [queue] }]), 'utf8'),
    ) as Record<string, unknown>;
    writeFileSync(config, JSON.stringify({ ...base, processors: { '*': broken } }));
    await startHost(config, database.db, { env, workers: 0 });
    const line = await statusUntil(env, 1, /none of its 1 worker processes running/);
    expect(line).toContain(`supervisor ${supervisor}`);
  });

  it('stays healthy while Postgres cannot be reached, and says so', { timeout: 90_000 }, async () => {
    // A port nothing listens on: every heartbeat and every write of the recorder is refused.
    const port = await new Promise<number>((resolvePort) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const env = envFor('no-postgres', { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none` });
    const queue = uniqueName('health-nopg');
    queues.push(queue);
    const config = writeConfig(scratch.dir, [{ name: uniqueName('nopg-sup'), queues: [queue] }]);
    // Not startHost: it waits for the host's row in Postgres, which this host cannot write.
    const host = new HostProcess(
      spawn(process.execPath, [...cliArgs(), 'supervisor', `--config=${config}`], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      await statusUntil(env, 0, /1\/1 worker processes running/);
      // A job done while Postgres is away waits in the recorder, and the line says how much waits.
      const producer = testQueue(queue);
      await producer.add('while-away', { ms: 1 });
      await producer.close();
      const line = await statusUntil(
        env,
        0,
        /the recorder keeps [1-9]\d* rows in memory|[1-9]\d* in the spool/,
      );
      expect(line).toMatch(/^healthy: /);
      expect(line).toContain('Postgres unreachable');
      expect(line).toContain('ECONNREFUSED');
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
    } finally {
      host.kill();
      await host.exited;
    }
  });
});
