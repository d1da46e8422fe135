import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What a worker process runs: the CLI compiled into one JavaScript file, so that a worker process
 * whose processor is JavaScript loads no TypeScript loader (tsx's loader thread and transforms cost
 * each process about 25 MB: 75 MB for a bare BullMQ Worker under plain Node, 100 MB under tsx).
 *
 * The supervisor compiles it when it starts (esbuild, which tsx brings; ~0.2 s), from the sources
 * it runs itself, so a worker process never runs other code than its supervisor. Packages stay
 * imports (BullMQ reads its Lua scripts from its own folder), so the file sits inside the package,
 * in worker-host/.build/, at the depth of the sources it replaces (host-id.ts finds package.json by
 * a relative path). Where that folder is read-only (a container running as an unprivileged user) a
 * file compiled into the image beforehand is used, and failing that the sources through tsx.
 */

export const WORKER_ENTRY = fileURLToPath(new URL('../.build/worker-cli.mjs', import.meta.url));
const CLI_SOURCE = fileURLToPath(new URL('../cli.ts', import.meta.url));

/**
 * Compiles the worker entry and answers its path, or undefined with the reason. A folder that
 * cannot be written keeps what was compiled into it beforehand; a compile that fails is never
 * papered over with an older file.
 */
export async function buildWorkerEntry(): Promise<{ path?: string; error?: string }> {
  const folder = dirname(WORKER_ENTRY);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (error) {
    if (existsSync(WORKER_ENTRY)) return { path: WORKER_ENTRY };
    return { error: `${folder} cannot be written: ${reasonOf(error)}` };
  }
  const partial = `${WORKER_ENTRY}.${process.pid}.tmp`;
  try {
    // tsx's own esbuild: the one package that is sure to be installed with the worker-host.
    const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))(
      'esbuild',
    ) as typeof import('esbuild');
    await esbuild.build({
      entryPoints: [CLI_SOURCE],
      outfile: partial,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
    });
    // Whole or not at all: a worker process starting meanwhile reads the previous file.
    renameSync(partial, WORKER_ENTRY);
    return { path: WORKER_ENTRY };
  } catch (error) {
    rmSync(partial, { force: true });
    return { error: reasonOf(error) };
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}

/** A processor module that needs the TypeScript loader in its worker process. */
export function isTypeScriptModule(path: string): boolean {
  return /\.[cm]?tsx?$/i.test(path);
}
