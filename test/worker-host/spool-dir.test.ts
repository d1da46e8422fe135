import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSpoolDir, defaultSpoolDir, leftInOldDefault } from '../../worker-host/recorder/spool-dir';
import { cliEnv, runCli, scratchDir, uniqueName, writeConfig } from './harness';

/**
 * Where the spool lives: under the host's own state by default, created for its user alone, and
 * refused, before anything starts, when others can write it (what a replay finds there goes to
 * Postgres).
 */

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

describe('the spool directory', () => {
  it('defaults to the host’s own state, not the shared temporary directory', () => {
    expect(defaultSpoolDir({ HOME: '/home/u' })).toBe('/home/u/.local/state/watchtower/spool');
    expect(defaultSpoolDir({ HOME: '/home/u', XDG_STATE_HOME: '/var/state' })).toBe(
      '/var/state/watchtower/spool',
    );
    // The XDG specification says a relative value is to be ignored.
    expect(defaultSpoolDir({ HOME: '/home/u', XDG_STATE_HOME: 'state' })).toBe(
      '/home/u/.local/state/watchtower/spool',
    );
    expect(defaultSpoolDir({ HOME: '/home/u', XDG_STATE_HOME: '/x', WATCHTOWER_STATE_DIR: '/srv/wt' })).toBe(
      '/srv/wt/spool',
    );
    expect(
      defaultSpoolDir({
        HOME: '/home/u',
        WATCHTOWER_STATE_DIR: '/srv/wt',
        WATCHTOWER_SPOOL_DIR: '/data/spool',
      }),
    ).toBe('/data/spool');
  });

  it('is created with its parents for this user alone', async () => {
    const dir = join(scratch.dir, 'created', 'state', 'spool');
    expect(await checkSpoolDir(dir)).toBeUndefined();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(scratch.dir, 'created', 'state')).mode & 0o777).toBe(0o700);
    // Others may read a directory the user made so (nothing is planted through reading).
    chmodSync(dir, 0o755);
    expect(await checkSpoolDir(dir)).toBeUndefined();
  });

  it('is refused when others can write it, when it is another user’s, or not a directory', async () => {
    const dir = join(scratch.dir, 'open');
    mkdirSync(dir);
    for (const mode of [0o777, 0o770, 0o1777]) {
      chmodSync(dir, mode);
      const problem = await checkSpoolDir(dir);
      expect(problem).toContain(dir);
      expect(problem).toContain('writable by other users');
      expect(problem).toContain(`chmod 700 ${dir}`);
      expect(problem).toContain('WATCHTOWER_SPOOL_DIR');
    }
    chmodSync(dir, 0o700);
    const uid = statSync(dir).uid;
    const foreign = await checkSpoolDir(dir, uid + 1);
    expect(foreign).toContain(`belongs to uid ${uid}`);
    expect(foreign).toContain('WATCHTOWER_SPOOL_DIR');

    const file = join(scratch.dir, 'a-file');
    writeFileSync(file, '');
    expect(await checkSpoolDir(file)).toContain('not a directory');
  });

  it('stops `watchtower supervisor` and a standalone `watchtower worker` from starting, with exit code 2', async () => {
    const dir = join(scratch.dir, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const queue = uniqueName('spool-dir-q');
    const config = writeConfig(scratch.dir, [{ name: uniqueName('spool-dir-sup'), queues: [queue] }]);
    const env = cliEnv({ WATCHTOWER_SPOOL_DIR: dir });
    const runs = [['supervisor'], ['worker', queue]].map((args) =>
      runCli([...args, `--config=${config}`], { env }),
    );
    for (const result of await Promise.all(runs)) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`The spool directory ${dir} is writable by other users`);
      expect(result.stderr).toContain(`chmod 700 ${dir}`);
    }
  });

  it('tells of files an earlier version left in the old default directory', async () => {
    const old = join(scratch.dir, 'old-default');
    const current = join(scratch.dir, 'current');
    expect(await leftInOldDefault(current, old)).toBeUndefined();
    mkdirSync(old);
    writeFileSync(join(old, 'somehost-1-0.ndjson'), '');
    writeFileSync(join(old, 'somehost-1-1.ndjson.replaying-somehost'), '');
    const notice = await leftInOldDefault(current, old);
    expect(notice).toContain(`2 spool file(s) of an earlier version wait in ${old}`);
    expect(notice).toContain(`mv ${old}/*.ndjson* ${current}/`);
    expect(await leftInOldDefault(old, old)).toBeUndefined();
  });
});
