import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** A compiled file, or why there is none. */
export interface Compiled {
  path?: string;
  error?: string;
}

/**
 * Bundles `source` and the modules it imports by relative path into one ES module at `outfile`
 * (packages stay imports, so it must sit where Node finds the same packages), written whole or not
 * at all: a process starting meanwhile reads the previous file. A folder that cannot be written
 * keeps what was compiled into it beforehand when `keepExisting` says so; a compile that fails is
 * never papered over with an older file. Used for the worker entry (worker-entry.ts) and for
 * TypeScript processors (processor-build.ts).
 */
export async function compileModule(
  source: string,
  outfile: string,
  options: { sourcemap?: 'inline'; keepExisting?: boolean } = {},
): Promise<Compiled> {
  const folder = dirname(outfile);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (error) {
    if (options.keepExisting && existsSync(outfile)) return { path: outfile };
    return { error: `${folder} cannot be written: ${reasonOf(error)}` };
  }
  const partial = `${outfile}.${process.pid}.tmp`;
  try {
    // tsx's own esbuild: the one package that is sure to be installed with the worker-host.
    const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))(
      'esbuild',
    ) as typeof import('esbuild');
    await esbuild.build({
      entryPoints: [source],
      outfile: partial,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      ...(options.sourcemap ? { sourcemap: options.sourcemap } : {}),
      logLevel: 'silent',
    });
    renameSync(partial, outfile);
    return { path: outfile };
  } catch (error) {
    rmSync(partial, { force: true });
    return { error: reasonOf(error) };
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}
