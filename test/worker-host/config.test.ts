import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, validate } from '../../worker-host/config/load-config';
import { cliEnv, runCli, scratchDir } from './harness';

/** A wrong configuration stops the CLI at once, with a message naming the field and the problem. */
describe('configuration', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  const file = (name: string, text: string) => {
    const path = join(scratch.dir, name);
    writeFileSync(path, text);
    return path;
  };
  const good = {
    connections: { main: { url: 'redis://127.0.0.1:6379' } },
    supervisors: [{ name: 'emails', connection: 'main', queues: ['emails'] }],
    processors: { emails: './emails.ts' },
  };

  describe('the CLI refuses a bad configuration', () => {
    it('names every wrong field of a JSON file', async () => {
      const path = file(
        'bad.json',
        JSON.stringify({
          connections: { main: { url: 'http://nope' } },
          supervisors: [
            {
              name: 'emails',
              connection: 'main',
              queues: ['emails', 'sms'],
              minProcesses: 2,
              maxProcesses: 3,
              balance: 'fast',
            },
            { name: 'emails', connection: 'other', queues: ['emails'] },
          ],
          processors: { emails: './emails.ts' },
        }),
      );
      const startedAt = Date.now();
      const { code, stdout, stderr } = await runCli(['supervisor', `--config=${path}`]);
      console.log(`bad configuration refused in ${Date.now() - startedAt} ms`);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(`Invalid configuration in ${path}:`);
      expect(stderr).toContain('connections.main.url: must start with redis:// or rediss://');
      expect(stderr).toContain('supervisors.0.balance: must be "simple" or "auto"');
    });

    it('then checks the fields against each other', async () => {
      const path = file(
        'mismatched.json',
        JSON.stringify({
          connections: { main: { url: 'redis://127.0.0.1:6379' } },
          supervisors: [
            { name: 'emails', connection: 'main', queues: ['emails', 'sms'] },
            { name: 'emails', connection: 'other', queues: ['emails'] },
          ],
          processors: { emails: './emails.ts' },
        }),
      );
      const { code, stderr } = await runCli(['supervisor', `--config=${path}`]);
      expect(code).toBe(2);
      expect(stderr).toContain('supervisors.1.name: "emails" is used by two supervisors');
      expect(stderr).toContain('supervisors.1.connection: "other" is not in connections (main)');
      expect(stderr).toContain('supervisors.0.queues.1: queue "sms" has no processor');
    });

    it('checks maxProcesses against minProcesses per queue', async () => {
      const path = file(
        'small.json',
        JSON.stringify({
          ...good,
          supervisors: [
            { ...good.supervisors[0], queues: ['emails', 'sms'], minProcesses: 2, maxProcesses: 3 },
          ],
          processors: { '*': './all.ts' },
        }),
      );
      const { code, stderr } = await runCli(['supervisor', `--config=${path}`]);
      expect(code).toBe(2);
      expect(stderr).toContain(
        'supervisors.0.maxProcesses: must be at least minProcesses × queues (2 × 2 = 4), got 3',
      );
    });

    it('loads a TypeScript configuration and names its wrong field', async () => {
      const path = file(
        'watchtower.config.ts',
        `const processes: number = 0;\nexport default { ...${JSON.stringify(good)}, supervisors: [{ name: 'emails', connection: 'main', queues: ['emails'], maxProcesses: processes, concurrency: 'lots' }] };\n`,
      );
      const { code, stderr } = await runCli(['supervisor', `--config=${path}`]);
      expect(code).toBe(2);
      expect(stderr).toContain('supervisors.0.maxProcesses: must be at least 1');
      expect(stderr).toContain('supervisors.0.concurrency: must be a whole number');
    });

    it('says so when the file does not exist, or has an unknown extension', async () => {
      const missing = await runCli(['supervisor', `--config=${join(scratch.dir, 'missing.json')}`]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('Cannot read configuration file');
      const yaml = await runCli(['supervisor', `--config=${file('config.yaml', 'a: 1')}`]);
      expect(yaml.code).toBe(2);
      expect(yaml.stderr).toContain('must end in .js, .mjs, .cjs, .ts, .mts, .cts, .json, not ".yaml"');
    });

    it('reads WATCHTOWER_CONFIG, and names an unset environment variable a file refers to', async () => {
      const path = file(
        'env.json',
        // A literal ${...}: the configuration's own interpolation, not a template string.
        JSON.stringify({ ...good, connections: { main: { url: ['$', '{WT_TEST_UNSET_URL}'].join('') } } }),
      );
      const { code, stderr } = await runCli(['supervisor'], {
        env: { ...cliEnv(), WATCHTOWER_CONFIG: path },
      });
      expect(code).toBe(2);
      expect(stderr).toContain('connections.main.url: environment variable WT_TEST_UNSET_URL is not set');
    });

    it('without a file, says which environment variables are missing', async () => {
      const env = cliEnv();
      delete env.REDIS_URL;
      delete env.WATCHTOWER_QUEUES;
      delete env.WATCHTOWER_PROCESSOR;
      const { code, stderr } = await runCli(['supervisor'], { env });
      expect(code).toBe(2);
      expect(stderr).toContain('REDIS_URL is not set');
      expect(stderr).toContain('WATCHTOWER_QUEUES is not set');
    });

    it('refuses an unknown supervisor name, option or command', async () => {
      const path = file('good.json', JSON.stringify(good));
      const named = await runCli(['supervisor', `--config=${path}`, '--supervisor=sms']);
      expect(named.code).toBe(2);
      expect(named.stderr).toContain(
        '--supervisor=sms: the configuration has no supervisor of that name (it has: emails)',
      );
      const option = await runCli(['worker', '--tries=many', `--config=${path}`]);
      expect(option.code).toBe(2);
      expect(option.stderr).toContain('--tries must be a whole number from 1 to 1000, got "many"');
      const command = await runCli(['launch']);
      expect(command.code).toBe(2);
      expect(command.stderr).toContain('Unknown command "launch"');
    });
  });

  describe('validation', () => {
    it('applies Horizon-like defaults and resolves processors from the file', () => {
      const config = validate(good, '/etc/watchtower/config.json', '/etc/watchtower');
      expect(config.supervisors[0]).toMatchObject({
        name: 'emails',
        minProcesses: 1,
        maxProcesses: 1,
        balance: 'simple',
        concurrency: 1,
        tries: 1,
        timeout: 60,
        memory: 512,
        lockDuration: 30,
        stalledInterval: 30,
      });
      expect(config.processors.emails).toBe('/etc/watchtower/emails.ts');
      expect(config.host).toEqual({
        heartbeatInterval: 5,
        healthInterval: 30,
        pollInterval: 3,
        gracePeriod: 30,
        deadAfter: 15,
        commandLease: 30,
      });
    });

    it('builds one supervisor from the environment', async () => {
      const config = await loadConfig({
        env: {
          REDIS_URL: 'redis://cache:6379',
          WATCHTOWER_QUEUES: 'a, b',
          WATCHTOWER_PROCESSOR: './jobs.ts',
        },
        cwd: '/srv/app',
      });
      expect(config.source).toBe('environment');
      expect(config.connections).toEqual({ default: { url: 'redis://cache:6379' } });
      expect(config.supervisors).toMatchObject([
        { name: 'default', connection: 'default', queues: ['a', 'b'], maxProcesses: 2 },
      ]);
      expect(config.processors).toEqual({ '*': '/srv/app/jobs.ts' });
    });

    it("checks a supervisor's passEnv, and reads it from WATCHTOWER_PASS_ENV without a file", async () => {
      expect(validate(good, 'x', '/').supervisors[0]?.passEnv).toEqual([]);
      const passing = { ...good.supervisors[0], passEnv: ['DATABASE_URL', 'STRIPE_*', '*'] };
      expect(validate({ ...good, supervisors: [passing] }, 'x', '/').supervisors[0]?.passEnv).toEqual([
        'DATABASE_URL',
        'STRIPE_*',
        '*',
      ]);
      const wrong = { ...good.supervisors[0], passEnv: ['DATABASE URL'] };
      expect(() => validate({ ...good, supervisors: [wrong] }, 'x', '/')).toThrow(
        'supervisors.0.passEnv.0: must be a variable name, NAME_* or *',
      );
      const config = await loadConfig({
        env: {
          REDIS_URL: 'redis://cache:6379',
          WATCHTOWER_QUEUES: 'a',
          WATCHTOWER_PROCESSOR: './jobs.ts',
          WATCHTOWER_PASS_ENV: 'DATABASE_URL, STRIPE_*',
        },
        cwd: '/srv/app',
      });
      expect(config.supervisors[0]?.passEnv).toEqual(['DATABASE_URL', 'STRIPE_*']);
    });

    it('accepts BullMQ on Postgres as a connection', () => {
      const config = validate(
        { ...good, connections: { main: { url: 'postgres://u@db:5432/queues' } } },
        'x',
        '/',
      );
      expect(config.connections.main?.url).toBe('postgres://u@db:5432/queues');
    });

    it('checks host.healthInterval: seconds, 0.25 to 3600', () => {
      expect(validate({ ...good, host: { healthInterval: 10 } }, 'x', '/').host.healthInterval).toBe(10);
      expect(() => validate({ ...good, host: { healthInterval: 0 } }, 'x.json', '/')).toThrow(
        'host.healthInterval: must be at least 0.25 seconds',
      );
      expect(() => validate({ ...good, host: { healthInterval: '30' } }, 'x.json', '/')).toThrow(
        'host.healthInterval: must be a number of seconds',
      );
    });

    it('throws ConfigError', () => {
      expect(() => validate({ supervisors: 'all' }, 'x.json', '/')).toThrow(ConfigError);
      expect(() => validate({ supervisors: 'all' }, 'x.json', '/')).toThrow(
        'supervisors: must be a list of supervisors',
      );
    });
  });
});
