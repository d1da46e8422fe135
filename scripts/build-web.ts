import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { staticHeadersFile } from '../functions/security-headers';

/**
 * `npm run build:web`: the dashboard (web/src, Preact) built by Vite into web/dist, the folder
 * wrangler.toml serves, with a `_headers` file giving the static files the Worker's security headers.
 *
 * Vite builds into a fresh folder under web/.build; the files are then renamed into web/dist, which
 * is brought up to date in place, never emptied: a server may be reading it meanwhile (`npm start`
 * running while a test builds the bundle), and emptying it made that server answer 500 for a
 * moment. Renames on one file system are atomic, so a reader sees the old file or the new one, never
 * none or half of one. index.html goes last, so it never names a script not yet in place; files no
 * build produced any more are removed after.
 */
const web = fileURLToPath(new URL('../web', import.meta.url));
const target = join(web, 'dist');
const partials = join(web, '.build');

export async function buildWeb(): Promise<string> {
  const { build } = await import('vite');
  await mkdir(partials, { recursive: true });
  const output = join(partials, randomUUID());
  try {
    await build({
      configFile: join(web, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: output, emptyOutDir: true },
    });
    await writeFile(join(output, '_headers'), staticHeadersFile());
    const files: string[] = [];
    for (const path of await readdir(output, { recursive: true })) {
      if (!(await stat(join(output, path))).isDirectory()) files.push(path);
    }
    await refuseModuleRunnerLeftovers(output, files);
    files.sort((a, b) => Number(a.endsWith('.html')) - Number(b.endsWith('.html')));
    await mkdir(target, { recursive: true });
    const wanted = new Set<string>();
    for (const path of files) {
      for (let dir = dirname(path); dir !== '.'; dir = dirname(dir)) wanted.add(dir);
      wanted.add(path);
      await mkdir(dirname(join(target, path)), { recursive: true });
      // A file already there with the same bytes is left alone: replacing it would still wake the
      // file watcher of a running `wrangler dev`, which restarts the Worker and answers the requests
      // in flight 503 (two browser test files build at once, each with its own wrangler serving).
      if (await sameBytes(join(output, path), join(target, path))) continue;
      await rename(join(output, path), join(target, path));
    }
    // Deepest first, so a folder's files go before the folder.
    const present = (await readdir(target, { recursive: true })).sort((a, b) => b.length - a.length);
    for (const path of present) {
      if (!wanted.has(path)) await rm(join(target, path), { recursive: true, force: true });
    }
  } finally {
    await rm(output, { recursive: true, force: true });
  }
  return target;
}

/**
 * Vite loaded through another tool's module runner (vitest's, when a test calls `buildWeb` in its
 * own process) has its own source rewritten: `import.meta` becomes `__vite_ssr_import_meta__`, and
 * the chunk-preloading helper Vite copies into the bundle from its own source carries that name
 * into the browser, where every lazily loaded page then fails ("__vite_ssr_import_meta__ is not
 * defined"). Such a build is refused before it replaces anything in web/dist.
 */
export async function refuseModuleRunnerLeftovers(output: string, files: string[]): Promise<void> {
  for (const path of files) {
    if (!path.endsWith('.js')) continue;
    if ((await readFile(join(output, path), 'utf8')).includes('__vite_ssr_'))
      throw new Error(
        `the dashboard build is broken: ${path} refers to __vite_ssr_ names (Vite was loaded through a ` +
          "module runner, such as a test's; build in a plain Node process: `npm run build:web`)",
      );
  }
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  try {
    const [left, right] = await Promise.all([readFile(a), readFile(b)]);
    return left.equals(right);
  } catch {
    return false;
  }
}

export interface BundleSizes {
  /** Gzipped bytes of the JavaScript the first page loads (entry and its preloaded chunks). */
  js: number;
  css: number;
  html: number;
}

/** What a first visit downloads, as index.html names it: scripts, preloads and stylesheets. */
export function initialBundleSizes(dist = target): BundleSizes {
  const html = readFileSync(join(dist, 'index.html'));
  const sizes: BundleSizes = { js: 0, css: 0, html: gzipSync(html).length };
  const references = html.toString().matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="(\/[^"]+)"[^>]*>/g);
  for (const [tag, path] of references) {
    if (!path) continue;
    const bytes = gzipSync(readFileSync(join(dist, path))).length;
    if (path.endsWith('.js')) sizes.js += bytes;
    else if (path.endsWith('.css') && tag.includes('stylesheet')) sizes.css += bytes;
  }
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWeb().then(
    (dir) => {
      const sizes = initialBundleSizes(dir);
      const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
      console.log(`Built the dashboard into ${dir}`);
      console.log(
        `First page, gzip: JavaScript ${kb(sizes.js)}, CSS ${kb(sizes.css)}, HTML ${kb(sizes.html)}, ` +
          `together ${kb(sizes.js + sizes.css + sizes.html)}`,
      );
    },
    (error: unknown) => {
      console.error('Building the dashboard failed:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
