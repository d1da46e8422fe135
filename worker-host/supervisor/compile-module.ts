import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';

/** A compiled file, or why there is none. */
export interface Compiled {
  path?: string;
  error?: string;
}

/**
 * Bundles `source` and the modules it imports by relative path into ES modules at `outfile`
 * (packages stay imports, so it must sit where Node finds the same packages), written whole or not
 * at all: a process starting meanwhile reads the previous build. A folder that cannot be written
 * keeps what was compiled into it beforehand when `keepExisting` says so; a compile that fails is
 * never papered over with an older build. Used for the worker entry (worker-entry.ts) and for
 * TypeScript processors (processor-build.ts).
 *
 * With `split`, each dynamic import becomes a chunk of its own, so the packages it imports load
 * only when it does (in one file every package import is hoisted to the top and loads at once).
 * The code and its chunks are named by their content's hash beside `outfile` and never rewritten;
 * `outfile` itself is a one-line module importing the newest code, replaced whole.
 */
export async function compileModule(
  source: string,
  outfile: string,
  options: { sourcemap?: 'inline'; keepExisting?: boolean; split?: boolean } = {},
): Promise<Compiled> {
  const folder = dirname(outfile);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (error) {
    if (options.keepExisting && existsSync(outfile)) return { path: outfile };
    return { error: `${folder} cannot be written: ${reasonOf(error)}` };
  }
  try {
    const esbuild = loadEsbuild();
    const name = basename(outfile, '.mjs');
    const result = await esbuild.build({
      entryPoints: { [`${name}-code`]: source },
      outdir: folder,
      ...(options.split
        ? { splitting: true, entryNames: '[name]-[hash]', chunkNames: `${name}-chunk-[hash]` }
        : {}),
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      ...(options.sourcemap ? { sourcemap: options.sourcemap } : {}),
      logLevel: 'silent',
      write: false,
    });
    if (!options.split) {
      const [file] = result.outputFiles;
      if (!file) throw new Error('esbuild wrote nothing');
      writeWhole(outfile, file.contents);
      return { path: outfile };
    }
    let code: string | undefined;
    for (const file of result.outputFiles) {
      if (basename(file.path).startsWith(`${name}-code-`)) code = basename(file.path);
      // Named by content: one already there is this very file (another host compiled it).
      if (!existsSync(file.path)) writeWhole(file.path, file.contents);
    }
    if (!code) throw new Error(`esbuild wrote no ${name}-code file`);
    writeWhole(
      outfile,
      `// The newest compiled code (worker-host/supervisor/compile-module.ts).\nimport './${code}';\n`,
    );
    return { path: outfile };
  } catch (error) {
    return { error: reasonOf(error) };
  }
}

/**
 * Ends esbuild's service process. esbuild keeps one running after a build, as a child of the host:
 * 20–30 MB held for nothing once the host has compiled what it runs (a later compile, on reload,
 * starts it again). Call it after a round of compiles.
 */
export async function stopCompiler(): Promise<void> {
  try {
    await loadEsbuild().stop();
  } catch {
    // Never started, or already gone: nothing is held.
  }
}

/**
 * esbuild, a dependency of the worker-host package (the same version tsx brings). Required on
 * first use, not imported: a worker process, which never compiles, does not load it.
 */
function loadEsbuild(): typeof import('esbuild') {
  return createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
}

/** Writes a file whole or not at all: beside it first, then renamed over it. */
function writeWhole(path: string, contents: Uint8Array | string): void {
  const partial = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(partial, contents);
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}
