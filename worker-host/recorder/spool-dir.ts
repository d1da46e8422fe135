import { mkdir, readdir, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * Where the spool lives, and whether that place is safe to use.
 *
 * The spool holds job records (payloads, results, exceptions) until Postgres takes them, and what a
 * replay finds there is written to Postgres as the truth. So it lives under the host's own state,
 * which survives a restart and a replaced container (a volume in the image), never in the temporary
 * directory other users share and a new container starts without.
 */

/** `$WATCHTOWER_STATE_DIR`, else `$XDG_STATE_HOME/watchtower`, else `~/.local/state/watchtower`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.WATCHTOWER_STATE_DIR?.trim();
  if (own) return resolve(own);
  // The XDG base directory specification says a relative value is to be ignored.
  const xdg = env.XDG_STATE_HOME?.trim();
  if (xdg && isAbsolute(xdg)) return join(xdg, 'watchtower');
  return join(env.HOME?.trim() || homedir(), '.local', 'state', 'watchtower');
}

/** `$WATCHTOWER_SPOOL_DIR`, else `spool` in the state directory. */
export function defaultSpoolDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.WATCHTOWER_SPOOL_DIR?.trim();
  return dir ? resolve(dir) : join(stateDir(env), 'spool');
}

/**
 * Creates the spool directory (mode 0700, parents too) when missing, and checks that only this user
 * can write it: anyone else who can add a file there has it written to Postgres by the next replay.
 * Returns what is wrong with it, naming the directory and the fix, or undefined when it is fine.
 */
export async function checkSpoolDir(
  dir: string,
  // Whose directory it must be: this process's user. A parameter so a test can stand in for another.
  uid: number | undefined = process.getuid?.(),
): Promise<string | undefined> {
  const elsewhere =
    'or set WATCHTOWER_SPOOL_DIR (or WATCHTOWER_STATE_DIR) to a directory only this user can write';
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code !== 'EEXIST') {
      return `Cannot create the spool directory ${dir} (${code}: ${(error as Error).message}): create it for this user with mode 0700, ${elsewhere}.`;
    }
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch (error) {
    return `Cannot read the spool directory ${dir} (${(error as Error).message}): ${elsewhere}.`;
  }
  if (!info.isDirectory()) return `The spool directory ${dir} is not a directory: ${elsewhere}.`;
  // Windows has neither the mode bits nor uids this checks.
  if (process.platform === 'win32') return undefined;
  if (uid !== undefined && info.uid !== uid) {
    return `The spool directory ${dir} belongs to uid ${info.uid}, not to this user (uid ${uid}): records found there would be replayed into Postgres. Run \`chown ${uid} ${dir} && chmod 700 ${dir}\`, ${elsewhere}.`;
  }
  const mode = info.mode & 0o777;
  if ((mode & 0o022) !== 0) {
    return `The spool directory ${dir} is writable by other users (mode ${mode.toString(8).padStart(4, '0')}): records they put there would be replayed into Postgres. Run \`chmod 700 ${dir}\`, ${elsewhere}.`;
  }
  return undefined;
}

/**
 * Earlier versions spooled to `<tmpdir>/watchtower-spool` by default. Files left there are not
 * replayed from there (that directory may hold anyone's files): this says where they are and what
 * to do, or returns undefined when there are none.
 */
export async function leftInOldDefault(
  current: string,
  old: string = join(tmpdir(), 'watchtower-spool'),
): Promise<string | undefined> {
  if (resolve(old) === resolve(current)) return undefined;
  const names = await readdir(old).catch(() => [] as string[]);
  const files = names.filter((name) => name.includes('.ndjson'));
  if (files.length === 0) return undefined;
  return `${files.length} spool file(s) of an earlier version wait in ${old}, which is no longer the spool's directory: check they are yours, then move them to ${current} to have them replayed (mv ${old}/*.ndjson* ${current}/).`;
}
