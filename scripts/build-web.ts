import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Builds the dashboard's static assets into web/dist, the folder wrangler.toml serves. For now that
 * is a copy of web/public (a placeholder page); the Vite dashboard build replaces this script.
 */
const source = fileURLToPath(new URL('../web/public', import.meta.url));
const target = fileURLToPath(new URL('../web/dist', import.meta.url));

export async function buildWeb(): Promise<string> {
  // Start clean so files deleted from web/public do not linger in the deployed assets.
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await cp(source, target, { recursive: true });
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
