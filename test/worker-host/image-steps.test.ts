import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { testEnv } from '../setup/test-env';
import { buildWithoutEngine } from './fixtures/dockerfile-steps';
import {
  cliEnv,
  HostProcess,
  killAllHosts,
  openTestDatabase,
  repoRoot,
  scratchDir,
  testQueue,
  uniqueName,
  waitFor,
} from './harness';

/**
 * The worker-host's container image, built by its Dockerfile's own steps in a directory (no
 * container engine here): production dependencies only, the compiled worker entry, users' files in
 * /app/jobs. Then the image's entrypoint runs a supervisor from there, with a TypeScript
 * configuration and a processor importing BullMQ, until a job is done and recorded.
 */
describe('the container image’s build steps', () => {
  const database = openTestDatabase();
  const scratch = scratchDir();
  const image = join(scratch.dir, 'app');
  const queueName = uniqueName('image-q');
  const queue = testQueue(queueName);

  afterAll(async () => {
    await killAllHosts();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await database.close();
    scratch.cleanup();
  });

  // npm ci and a compile: a minute on a loaded machine, where the default 30 s is not enough.
  it('builds with production dependencies alone and runs a supervisor from /app/jobs', {
    timeout: 120_000,
  }, async () => {
    mkdirSync(image);
    const build = buildWithoutEngine(join(repoRoot, 'worker-host/Dockerfile'), repoRoot, image);
    // Only what needs the base image itself is left out; a new kind of step must be looked at.
    expect(build.skipped.map((step) => step.split(' ')[0])).toEqual([
      'FROM',
      'RUN',
      'RUN',
      'USER',
      'STOPSIGNAL',
    ]);
    // The machine's own npm cache is left alone (fixtures/dockerfile-steps.ts).
    expect(build.skipped).toContain('RUN npm cache clean --force');
    // It runs as the base image's unprivileged user, never as root.
    expect(build.skipped).toContain('USER node');
    expect(build.env.NODE_ENV).toBe('production');
    // A HEALTHCHECK backed by `status --local`, run below against the supervisor it started.
    const health = build.healthcheck;
    expect(health?.cmd.slice(-2)).toEqual(['status', '--local']);
    expect(Object.keys(health?.options ?? {}).sort()).toEqual([
      'interval',
      'retries',
      'start-period',
      'timeout',
    ]);
    // The host's state (its spool) is on a volume: a replaced container replays what the old one spooled.
    const state = build.env.WATCHTOWER_STATE_DIR as string;
    expect(build.volumes).toEqual([state]);
    // Compiled by the image's own step; what the context's .build holds is ignored (.dockerignore).
    // The entry, its code and chunks, all named by content (compile-module.ts), nothing else.
    const compiled = readdirSync(join(image, 'worker-host/.build'));
    expect(compiled).toContain('worker-cli.mjs');
    expect(compiled.filter((name) => /^worker-cli-code-\w+\.mjs$/.test(name))).toHaveLength(1);
    expect(compiled.every((name) => /^worker-cli(-code-\w+|-chunk-\w+)?\.mjs$/.test(name))).toBe(true);
    expect(existsSync(join(image, 'node_modules/bullmq'))).toBe(true);
    // Dev dependencies stay out of the image.
    expect(existsSync(join(image, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(image, 'functions'))).toBe(false);

    const [command, ...entry] = build.entrypoint;
    expect(command).toBe('node');
    const env = { ...cliEnv(), ...build.env };
    const help = spawnSync(process.execPath, [...entry, '--help'], { cwd: image, env, encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('supervisor');

    // A user's files, as mounted at /app/jobs: the processor resolves 'bullmq' from the image.
    const jobs = join(image, 'jobs');
    mkdirSync(jobs, { recursive: true });
    writeFileSync(
      join(jobs, 'processor.mjs'),
      `import { UnrecoverableError } from 'bullmq';\n` +
        `export default async (job) => {\n` +
        `  if (typeof UnrecoverableError !== 'function') throw new Error('no bullmq');\n` +
        `  return { greeted: job.data.name };\n};\n`,
    );
    writeFileSync(
      join(jobs, 'watchtower.config.ts'),
      `const config: Record<string, unknown> = {\n` +
        `  connections: { default: { url: ${JSON.stringify(testEnv.redisUrl)} } },\n` +
        `  supervisors: [{ name: ${JSON.stringify(uniqueName('image-sup'))}, connection: 'default', queues: [${JSON.stringify(queueName)}], sleep: 0.5 }],\n` +
        `  processors: { '*': './processor.mjs' },\n` +
        `  host: { heartbeatInterval: 0.25, pollInterval: 0.25, gracePeriod: 5 },\n};\n` +
        `export default config;\n`,
    );
    const host = new HostProcess(
      spawn(process.execPath, [...entry, ...build.cmd], {
        cwd: image,
        env: { ...env, WATCHTOWER_CONFIG: join(jobs, 'watchtower.config.ts') },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      const job = await queue.add('greet', { name: 'image' });
      const row = await waitFor(
        async () => {
          if (!host.running) throw new Error('the host exited');
          return rowsOf<{ status: string; result: unknown }>(
            await database.db.execute(
              sql`select status, result from watchtower_jobs where queue = ${queueName} and job_id = ${job.id}`,
            ),
          ).find((r) => r.status === 'completed');
        },
        30_000,
        'the job to be done and recorded',
      );
      expect(row.result).toEqual({ greeted: 'image' });
      // The spool's directory was made in the volume, for the host's user alone.
      expect(statSync(join(state, 'spool')).mode & 0o777).toBe(0o700);
      // The image's health command, as the container runtime runs it: 0 while the host is healthy
      // (its health file is written once a second, so the first look may still see it starting).
      const [node, ...check] = health?.cmd ?? [];
      expect(node).toBe('node');
      const probe = () => spawnSync(process.execPath, check, { cwd: image, env, encoding: 'utf8' });
      // Healthy already while its worker process starts (it has a few seconds to be ready), so the
      // wait is for the line that counts it running.
      const running = /^healthy: host \S+ \(pid \d+\) running; 1 supervisor\(s\), 1\/1 worker/;
      const healthy = await waitFor(
        () => {
          const run = probe();
          return run.status === 0 && running.test(run.stdout) ? run : undefined;
        },
        30_000,
        'the HEALTHCHECK command to exit 0 with the worker process running',
      );
      expect(healthy.stdout).toMatch(running);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
    } finally {
      expect(await host.stop()).toBe(0);
    }
    // Stopped: no host runs from this image any more, and the check says so.
    const after = spawnSync(process.execPath, health?.cmd.slice(1) ?? [], {
      cwd: image,
      env,
      encoding: 'utf8',
    });
    expect(after.status, after.stdout).toBe(1);
    expect(after.stdout).toMatch(/^unhealthy: no host is running/);
  });
});
