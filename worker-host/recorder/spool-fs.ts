import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';

/**
 * The file system calls the spool makes. Production uses Node's; a test passes one whose call fails
 * to make a fault happen (a full disk) that this machine cannot be made to have without root.
 * Every file the spool creates is readable by its user alone: it holds job data.
 */
export interface SpoolFile {
  write(text: string): Promise<unknown>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface SpoolFs {
  mkdir(path: string): Promise<unknown>;
  /** A new file, opened for writing; fails if it exists. */
  create(path: string): Promise<SpoolFile>;
  appendFile(path: string, text: string): Promise<void>;
  writeFile(path: string, text: string): Promise<void>;
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mtimeMs(path: string): Promise<number>;
  touch(path: string): Promise<void>;
}

export const nodeSpoolFs: SpoolFs = {
  mkdir: (path) => mkdir(path, { recursive: true, mode: 0o700 }),
  async create(path) {
    const handle = await open(path, 'wx', 0o600);
    return {
      write: (text) => handle.write(text),
      datasync: () => handle.datasync(),
      close: () => handle.close(),
    };
  },
  appendFile: (path, text) => appendFile(path, text, { mode: 0o600 }),
  writeFile: (path, text) => writeFile(path, text, { mode: 0o600 }),
  readFile: (path) => readFile(path, 'utf8'),
  readdir: (path) => readdir(path),
  rename,
  unlink,
  mtimeMs: async (path) => (await stat(path)).mtimeMs,
  touch: async (path) => {
    const now = new Date();
    await utimes(path, now, now);
  },
};
