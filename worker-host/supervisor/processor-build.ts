import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { type Compiled, compileModule } from './compile-module';
import { isTypeScriptModule } from './worker-entry';

/**
 * TypeScript processors compiled once by the host, so their worker processes run plain JavaScript
 * under plain Node, as JavaScript processors do. Through tsx's loader each worker process held
 * about 25 MB more and transformed the user's code again at every start (2.3 GB for 20 processes).
 *
 * The processor and the modules it imports by relative path are bundled into one ES module;
 * packages stay imports. The file is written where Node finds the same packages the sources find:
 * in the nearest `node_modules/.cache/watchtower/` above the processor (the place build tools keep
 * their caches), or beside the processor in `.watchtower/` when there is no node_modules.
 * Compiled when the host starts and on reload: an edited processor is picked up by a reload, as a
 * change of configuration is. Where nothing can be written or the compile fails, the worker
 * processes run the sources through tsx, as before, and the host says why.
 */

/** Whether `path` is a processor compiled here (by where such files are written). */
export function isCompiledProcessor(path: string): boolean {
  return /[\\/](node_modules[\\/]\.cache[\\/]watchtower|\.watchtower)[\\/][^\\/]+\.[0-9a-f]{12}\.mjs$/.test(
    path,
  );
}

/** Where the compiled file of `source` goes. */
export function compiledProcessorPath(source: string): string {
  const name = `${basename(source, extname(source))}.${createHash('sha256').update(source).digest('hex').slice(0, 12)}.mjs`;
  for (let dir = dirname(source); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules/.cache/watchtower', name);
    if (dirname(dir) === dir) break;
  }
  return join(dirname(source), '.watchtower', name);
}

export function compileProcessor(source: string): Promise<Compiled> {
  // Stack traces of failed jobs name the user's own files and lines (worker processes of a
  // compiled processor run with --enable-source-maps).
  return compileModule(source, compiledProcessorPath(source), { sourcemap: 'inline' });
}

/** Compiles every TypeScript processor among `sources`: source → compiled file. */
export async function compileProcessors(
  sources: Iterable<string>,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  const compiled = new Map<string, string>();
  for (const source of new Set(sources)) {
    if (!isTypeScriptModule(source)) continue;
    const result = await compileProcessor(source);
    if (result.path) compiled.set(source, result.path);
    else
      log(
        `processor ${source} runs through tsx in each worker process: it could not be compiled (${result.error})`,
      );
  }
  return compiled;
}
