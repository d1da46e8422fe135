import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the dashboard's static assets into web/dist, the folder wrangler.toml serves. For now that
 * is a copy of web/public (a placeholder page); the Vite dashboard build replaces this script.
 *
 * The folder is brought up to date in place, never emptied: a server may be reading it meanwhile
 * (`npm start` running while a test builds the bundle), and emptying it made that server answer
 * 500 for a moment. Each file is written beside its place and renamed over it, so a reader sees the
 * old file or the new one, never none or half of one; files gone from web/public are removed after.
 */
const source = fileURLToPath(new URL('../web/public', import.meta.url));
const target = fileURLToPath(new URL('../web/dist', import.meta.url));
const PARTIAL = '.partial';

export async function buildWeb(): Promise<string> {
  await mkdir(target, { recursive: true });
  const wanted = new Set<string>();
  for (const path of await readdir(source, { recursive: true })) {
    wanted.add(path);
    const to = join(target, path);
    if ((await stat(join(source, path))).isDirectory()) {
      await mkdir(to, { recursive: true });
      continue;
    }
    const partial = `${to}.${randomUUID()}${PARTIAL}`;
    await copyFile(join(source, path), partial);
    await rename(partial, to);
  }
  // Deepest first, so a folder's files go before the folder. A partial file is another build's to
  // rename, unless that build died long ago.
  const present = (await readdir(target, { recursive: true })).sort((a, b) => b.length - a.length);
  for (const path of present) {
    if (wanted.has(path)) continue;
    const full = join(target, path);
    if (path.endsWith(PARTIAL)) {
      const age = Date.now() - (await stat(full).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age < 60_000) continue;
    }
    await rm(full, { recursive: true, force: true });
  }
  return target;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWeb().then(
    (dir) => console.log(`Built the dashboard assets into ${dir}`),
    (error: unknown) => {
      console.error('Building the dashboard assets failed:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
