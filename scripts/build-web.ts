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
 * 500 for a moment. Each file is written in web/.build first and renamed into place, so a reader
 * of web/dist sees the old file or the new one, never none, half of one, or a file about to vanish;
 * files gone from web/public are removed after.
 */
const source = fileURLToPath(new URL('../web/public', import.meta.url));
const target = fileURLToPath(new URL('../web/dist', import.meta.url));
const partials = fileURLToPath(new URL('../web/.build', import.meta.url));

export async function buildWeb(): Promise<string> {
  await mkdir(target, { recursive: true });
  await mkdir(partials, { recursive: true });
  const wanted = new Set<string>();
  for (const path of await readdir(source, { recursive: true })) {
    wanted.add(path);
    const to = join(target, path);
    if ((await stat(join(source, path))).isDirectory()) {
      await mkdir(to, { recursive: true });
      continue;
    }
    // Same file system as web/dist, so the rename is atomic.
    const partial = join(partials, randomUUID());
    await copyFile(join(source, path), partial);
    await rename(partial, to);
  }
  // Deepest first, so a folder's files go before the folder.
  const present = (await readdir(target, { recursive: true })).sort((a, b) => b.length - a.length);
  for (const path of present) {
    if (!wanted.has(path)) await rm(join(target, path), { recursive: true, force: true });
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
