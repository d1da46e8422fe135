import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { testEnv } from '../setup/test-env';
import { buildWithoutEngine } from './fixtures/dockerfile-steps';
import { installInto, packWorkerHost, userEnv, writeTsconfig, writeUserApp } from './fixtures/user-app';
import {
  HostProcess,
  isAlive,
  openTestDatabase,
  repoRoot,
  scratchDir,
  testQueue,
  uniqueName,
  waitFor,
} from './harness';

/**
 * The worker-host as a team uses it: `npm pack` of the workspace, installed into a fresh
 * application of its own (fixtures/user-app.ts) whose TypeScript processor imports the app's own
 * module and a package from the registry. From that app: `npx watchtower --help`, `migrate`,
 * `supervisor --config watchtower.config.ts`, `startHost` from a script, a strict type check
 * against the package's declarations, and the app image (deploy/app.Dockerfile) built by its
 * steps and run by its CMD. Every run ends with its jobs recorded in Postgres.
 */
describe('@watchtower/worker-host installed into an application', () => {
  const database = openTestDatabase();
  const scratch = scratchDir();
  const app = join(scratch.dir, 'app');
  const queues: Queue[] = [];
  const children: ChildProcess[] = [];
  let tarball = '';

  // npm pack (a bundle and tsc's declarations) and an install from the npm cache: about a
  // minute on a loaded machine.
  beforeAll(() => {
    tarball = packWorkerHost(repoRoot, join(scratch.dir, 'pack'));
    mkdirSync(app);
    writeUserApp(app);
    installInto(app, tarball);
  }, 300_000);

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) killGroup(child, 'SIGKILL');
    }
    for (const queue of queues) {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await database.close();
    scratch.cleanup();
  });

  /** A queue of its own for each run, and the environment the app's files read it from. */
  function queueFor(prefix: string) {
    const name = uniqueName(prefix);
    const queue = testQueue(name);
    queues.push(queue);
    const env = userEnv({
      DATABASE_URL: testEnv.databaseUrl,
      REDIS_URL: testEnv.redisUrl,
      QUEUE: name,
      WATCHTOWER_COMMAND_BUS: 'database',
    });
    delete env.WATCHTOWER_CONFIG;
    return { name, queue, env };
  }

  /** Adds a job the app's processor answers from both of its imports, and waits for its record. */
  async function processedAndRecorded(queue: Queue, host: HostProcess) {
    const job = await queue.add('greet', { name: 'acme', count: '42' });
    const row = await waitFor(
      async () => {
        if (!host.running) throw new Error('the host exited');
        return rowsOf<{ status: string; result: unknown }>(
          await database.db.execute(
            sql`select status, result from watchtower_jobs where queue = ${queue.name} and job_id = ${job.id}`,
          ),
        ).find((r) => r.status === 'completed');
      },
      30_000,
      'the job to be done and recorded',
    );
    // lib/greeting.ts made the text, is-number (from the registry) the flag.
    expect(row.result).toEqual({ text: 'hello acme', numeric: true });
  }

  function start(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): HostProcess {
    // A process group of its own: npx runs the bin through a shell, and the whole tree must go.
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    return new HostProcess(child);
  }

  it('ships the built CLI, its types and the migrations, with its own dependencies only', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const file of [
      'cli/bin.mjs',
      'dist/cli.mjs',
      'dist/index.mjs',
      'dist/types/worker-host/index.d.ts',
    ]) {
      expect(files).toContain(`package/${file}`);
    }
    expect(files).toContain('package/dist/migrations/meta/_journal.json');
    expect(files.filter((file) => file.endsWith('.sql')).length).toBeGreaterThan(0);
    // Compiled code only: no sources (core/ and drizzle/ are bundled into dist).
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
    const installed = join(app, 'node_modules/@watchtower/worker-host');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(manifest.dependencies)) {
      // The versions this repository runs and tests (esbuild, not among them, is pinned to the one tsx brings).
      if (name in root.dependencies) expect(`${name}@${version}`).toBe(`${name}@${root.dependencies[name]}`);
    }
    // Every package the built code imports is one of its dependencies (esbuild, required by name
    // in compile-module.ts, too); nothing comes from this repository's other dependencies.
    const imported = new Set<string>(['esbuild']);
    for (const file of readdirSync(join(installed, 'dist')).filter((name) => name.endsWith('.mjs'))) {
      const code = readFileSync(join(installed, 'dist', file), 'utf8');
      for (const [, specifier] of code.matchAll(
        /(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)"([^".][^"]*)"/gm,
      )) {
        if (specifier?.startsWith('node:')) continue;
        imported.add(
          (specifier as string)
            .split('/')
            .slice(0, specifier?.startsWith('@') ? 2 : 1)
            .join('/'),
        );
      }
    }
    expect([...imported].sort()).toEqual(Object.keys(manifest.dependencies).sort());
    expect(Object.keys(manifest.dependencies)).not.toContain('hono');
    expect(existsSync(join(app, 'node_modules/wrangler'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/hono'))).toBe(false);
  });

  it('answers --help and applies the shipped migrations through npx', () => {
    const { env } = queueFor('help');
    const help = spawnSync('npx', ['watchtower', '--help'], { cwd: app, env, encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: watchtower <command>');
    expect(help.stdout).toContain('supervisor');
    // The test database is migrated already: the package's own copy of the migrations agrees.
    const migrate = spawnSync('npx', ['watchtower', 'migrate'], { cwd: app, env, encoding: 'utf8' });
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('Database is up to date.');
  }, 60_000);

  it("type-checks the application's config and processors against the package's declarations", () => {
    writeTsconfig(app, join(repoRoot, 'node_modules/@types'));
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  }, 60_000);

  it('runs `npx watchtower supervisor --config watchtower.config.ts` on the TypeScript processor', async () => {
    const { queue, env } = queueFor('npx');
    const host = start('npx', ['watchtower', 'supervisor', '--config', 'watchtower.config.ts'], app, env);
    try {
      await processedAndRecorded(queue, host);
      // The processor was compiled into the app's node_modules cache (its worker processes run plain
      // JavaScript), and the worker entry came prebuilt: nothing was written into the package.
      expect(readdirSync(join(app, 'node_modules/.cache/watchtower'))).toEqual([
        expect.stringMatching(/^greet\.[0-9a-f]{12}\.mjs$/),
      ]);
      expect(host.output).not.toContain('through tsx');
      expect(host.output).not.toContain('from the TypeScript sources');
      expect(readdirSync(join(app, 'node_modules/@watchtower/worker-host')).sort()).toEqual([
        'README.md',
        'cli',
        'dist',
        'package.json',
      ]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
    } finally {
      // As Ctrl-C in a terminal reaches the whole foreground group.
      killGroup(host.child, 'SIGTERM');
      await groupGone(host.child);
    }
  }, 90_000);

  it("runs a host with startHost inside the application's own process", async () => {
    const { queue, env } = queueFor('embed');
    // A configuration it cannot run is refused, by the schema or when the host starts (more worker
    // processes than it keeps), and nothing is left running: the script ends by itself.
    const refused = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { ConfigError, startHost } from '@watchtower/worker-host';\n` +
          `const say = (error) => console.log(error instanceof ConfigError, error.message);\n` +
          `await startHost({ supervisors: [{ name: 'x', queues: [] }] }).catch(say);\n` +
          `await startHost({ connections: { default: { url: process.env.REDIS_URL } },\n` +
          `  supervisors: [{ name: 'x', queues: [process.env.QUEUE], minProcesses: 3 }],\n` +
          `  processors: { '*': './jobs/greet.ts' }, host: { maxWorkerProcesses: 2 } }).catch(say);\n`,
      ],
      { cwd: app, env, encoding: 'utf8', timeout: 30_000 },
    );
    expect(refused.status, refused.stderr).toBe(0);
    expect(refused.stdout).toContain('true Invalid configuration in startHost()');
    expect(refused.stdout).toContain('must name at least one queue');
    expect(refused.stdout).toContain('true The configuration starts 3 worker processes');
    expect(await queue.getWorkersCount()).toBe(0);

    const host = start(process.execPath, ['embed.mjs'], app, env);
    try {
      await waitFor(() => host.output.includes('embedded host'), 30_000, 'the embedded host to start');
      await processedAndRecorded(queue, host);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
    } finally {
      host.child.kill('SIGTERM');
      // stop() resolves once the host has closed everything: the process then ends by itself.
      expect(await host.exited).toBe(0);
      await groupGone(host.child);
    }
    expect(host.output).toContain('embedded host stopped with 0');
  }, 90_000);

  it("builds deploy/app.Dockerfile's steps on the app and runs its CMD", async () => {
    // Beside the app, so package-lock.json's relative path to the tarball holds there too.
    const image = join(scratch.dir, 'image');
    mkdirSync(image);
    const build = buildWithoutEngine(join(repoRoot, 'deploy/app.Dockerfile'), app, image);
    // Left out: what needs the base image itself. A new kind of step must be looked at.
    expect(build.skipped.map((step) => step.split(' ')[0])).toEqual(['FROM', 'RUN', 'USER', 'STOPSIGNAL']);
    expect(build.skipped).toContain('USER node');
    const state = build.env.WATCHTOWER_STATE_DIR as string;
    expect(build.volumes).toEqual([state]);
    // Installed by the image's npm ci (the context's node_modules is ignored), production only.
    expect(existsSync(join(image, 'node_modules/@watchtower/worker-host/dist/cli.mjs'))).toBe(true);
    expect(existsSync(join(image, 'node_modules/is-number'))).toBe(true);
    expect(build.entrypoint).toEqual([]);

    const { queue, env } = queueFor('app-image');
    expect(build.cmd).toEqual(['node_modules/.bin/watchtower', 'supervisor']);
    const [bin, ...args] = build.cmd as [string, ...string[]];
    // The CMD runs the bin itself, which takes SIGTERM directly (as PID 1 it must).
    const host = start(join(image, bin), args, image, { ...env, ...build.env });
    expect(build.healthcheck?.cmd).toEqual(['npx', 'watchtower', 'status', '--local']);
    const [npx, ...check] = build.healthcheck?.cmd ?? [];
    const probe = () =>
      spawnSync(npx as string, check, { cwd: image, env: { ...env, ...build.env }, encoding: 'utf8' });
    try {
      await processedAndRecorded(queue, host);
      expect(statSync(join(state, 'spool')).mode & 0o777).toBe(0o700);
      // The image's HEALTHCHECK, as the runtime runs it: 0 once the host's health file says healthy.
      const healthy = await waitFor(
        () => {
          const run = probe();
          return run.status === 0 ? run : undefined;
        },
        30_000,
        'the HEALTHCHECK command to exit 0',
      );
      expect(healthy.stdout).toMatch(/^healthy: host \S+ \(pid \d+\) running/);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
    } finally {
      expect(await host.stop()).toBe(0);
      await groupGone(host.child);
    }
    expect(host.output).toContain('stopped.');
    const after = probe();
    expect(after.status, after.stdout).toBe(1);
    expect(after.stdout).toMatch(/^unhealthy: no host is running/);
  }, 240_000);
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Gone already.
  }
}

/** Waits until no process of the child's group (its worker processes included) is left. */
async function groupGone(child: ChildProcess): Promise<void> {
  const group = child.pid as number;
  await waitFor(
    () => {
      if (isAlive(-group)) return false;
      return true;
    },
    30_000,
    `process group ${group} to end`,
  );
}
