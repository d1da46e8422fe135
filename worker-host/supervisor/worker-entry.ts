import { fileURLToPath } from 'node:url';
import { PACKAGED } from '../host/package-build';
import { type Compiled, compileModule } from './compile-module';

/**
 * What a worker process runs: the CLI compiled into JavaScript, so that a worker process loads no
 * TypeScript loader (tsx's loader thread and transforms cost each process about 25 MB: 75 MB for a
 * bare BullMQ Worker under plain Node, 100 MB under tsx). Compiled with code splitting: a worker
 * process loads the worker command's chunk and BullMQ, not the supervisor's database and bus
 * clients (drizzle, pg, zod), which one file would load at once (`npm run bench:shipped`).
 *
 * The supervisor compiles it when it starts (esbuild, which tsx brings; ~0.2 s), from the sources
 * it runs itself, so a worker process never runs other code than its supervisor. Packages stay
 * imports (BullMQ reads its Lua scripts from its own folder), so the file sits inside the package,
 * in worker-host/.build/, at the depth of the sources it replaces (host-id.ts finds package.json by
 * a relative path). Where that folder is read-only (a container running as an unprivileged user) a
 * file compiled into the image beforehand is used, and failing that the sources through tsx.
 *
 * The installed package (`@watchtower/worker-host`) ships no sources: its `dist/cli.mjs` is this
 * very compile, made by the package build with the same code splitting, so worker processes run it
 * as it is and nothing is ever written into node_modules at start. Its chunks sit flat in dist/,
 * beside cli.mjs, so `./cli.mjs` from any of them is the CLI.
 */

/** The CLI a worker process runs with the TypeScript loader: the sources, or the package's bundle. */
export const CLI_ENTRY = fileURLToPath(new URL(PACKAGED ? './cli.mjs' : '../cli.ts', import.meta.url));

/** The CLI compiled into JavaScript, which worker processes run under plain Node. */
export const WORKER_ENTRY = PACKAGED
  ? CLI_ENTRY
  : fileURLToPath(new URL('../.build/worker-cli.mjs', import.meta.url));

/**
 * Compiles the worker entry and answers its path, or undefined with the reason. A folder that
 * cannot be written keeps what was compiled into it beforehand (the image compiles it at build).
 * The installed package's entry was compiled when the package was built.
 */
export function buildWorkerEntry(): Promise<Compiled> {
  if (PACKAGED) return Promise.resolve({ path: WORKER_ENTRY });
  return compileModule(CLI_ENTRY, WORKER_ENTRY, { keepExisting: true, split: true });
}

/** A processor module that needs the TypeScript loader in its worker process. */
export function isTypeScriptModule(path: string): boolean {
  return /\.[cm]?tsx?$/i.test(path);
}
