import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run build:worker-host` (and the package's `prepack`, so `npm pack` and `npm publish` run it):
 * the worker-host as the installable package `@watchtower/worker-host`, in worker-host/dist/.
 *
 * The sources import core/ and drizzle/, outside the package's folder, so the package ships them
 * bundled (esbuild; npm packages stay imports, resolved from the user's node_modules):
 * - dist/cli.mjs and its chunks: the CLI, compiled with code splitting exactly as the supervisor
 *   compiles the worker entry from the sources (supervisor/worker-entry.ts), so worker processes
 *   run it as it is and nothing is written into node_modules at start;
 * - dist/index.mjs: the public API (worker-host/index.ts), sharing those chunks;
 * - dist/migrations/: the committed migrations `watchtower migrate` applies (drizzle/migrate.ts
 *   finds them beside the chunk it is compiled into);
 * - dist/types/: the declarations of the public API, emitted by tsc and cut down to the files
 *   index.d.ts reaches, their relative imports given `.js` so every moduleResolution finds them.
 *
 * Built in a fresh folder, then renamed into place.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const pkgDir = join(root, 'worker-host');
const target = join(pkgDir, 'dist');

export async function buildWorkerHost(): Promise<string> {
  // Staged in the repository's .build, not worker-host/.build where hosts compile their worker entry.
  const staging = join(root, '.build', 'worker-host-package', `dist-${randomUUID()}`);
  try {
    await bundleWorkerHost(staging);
    emitTypes(join(staging, 'types'));
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return target;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The package's code without its declarations, into `outdir`: the CLI and the public API with
 * their chunks, and the migrations. The tests run their hosts and CLI commands from such a bundle
 * (test/setup/test-cli.ts), the very code the package ships.
 */
export async function bundleWorkerHost(outdir: string): Promise<void> {
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(outdir, { recursive: true });
  const esbuild = createRequire(join(pkgDir, 'package.json'))('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: { cli: join(pkgDir, 'cli.ts'), index: join(pkgDir, 'index.ts') },
    outdir,
    // Chunks flat beside cli.mjs: worker-entry.ts names `./cli.mjs` from whichever chunk holds it.
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    define: { WATCHTOWER_PACKAGE_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  });
  // The migrator reads the journal and the SQL; the snapshots are drizzle-kit's, for generating.
  cpSync(join(root, 'drizzle/migrations'), join(outdir, 'migrations'), {
    recursive: true,
    filter: (from) => !/_snapshot\.json$/.test(from),
  });
}

/** tsc's declarations of worker-host/index.ts, only the files it reaches. */
function emitTypes(out: string): void {
  const scratch = join(root, '.build', 'worker-host-package', `types-${randomUUID()}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const tsconfig = join(scratch, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023'],
          types: ['node'],
          strict: true,
          skipLibCheck: true,
          esModuleInterop: true,
          resolveJsonModule: true,
          declaration: true,
          emitDeclarationOnly: true,
          rootDir: root,
          outDir: join(scratch, 'out'),
        },
        files: [join(pkgDir, 'index.ts')],
      }),
    );
    const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', tsconfig], { cwd: root, stdio: 'inherit' });
    const emitted = join(scratch, 'out');
    const pending = [join(emitted, 'worker-host/index.d.ts')];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8').replace(
        /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g,
        (_match, lead: string, quote: string, specifier: string) => {
          const found = declarationOf(dirname(file), specifier);
          if (!found) throw new Error(`${relative(emitted, file)}: no declarations for ${specifier}`);
          pending.push(found.path);
          return `${lead}${quote}${found.specifier}${quote}`;
        },
      );
      const dest = join(out, relative(emitted, file));
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, text);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function declarationOf(dir: string, specifier: string): { path: string; specifier: string } | undefined {
  const base = resolve(dir, specifier.replace(/\.js$/, ''));
  if (existsSync(`${base}.d.ts`))
    return { path: `${base}.d.ts`, specifier: `${specifier.replace(/\.js$/, '')}.js` };
  if (existsSync(join(base, 'index.d.ts'))) {
    return { path: join(base, 'index.d.ts'), specifier: `${specifier.replace(/\/$/, '')}/index.js` };
  }
  return undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  buildWorkerHost().then(
    (dir) => console.log(`worker-host package built in ${relative(root, dir)}`),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
