import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, validate } from '../../worker-host/config/load-config';
import { DEFAULT_PAYLOAD_CAP } from '../../worker-host/recorder/job-event';
import {
  MAX_PAYLOAD_CAP,
  PAYLOAD_CAP_ENV,
  payloadCapSetting,
  textCeilingFor,
} from '../../worker-host/recorder/payload-cap';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  killAllHosts,
  openTestDatabase,
  runCli,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

/**
 * `recorder.maxPayloadBytes` (or WATCHTOWER_MAX_PAYLOAD_BYTES) lets a host keep payloads of several
 * MB whole; without it the 16 KB cap holds. Three real hosts, each with its own queue, run the
 * same 5 MB job: one raised by the configuration, one by the variable, one left at the default.
 */

const FIVE_MB = 5 * 1024 * 1024;

interface Row {
  name: string;
  status: string;
  payload: unknown;
  result: unknown;
  payload_truncated: boolean;
  sanitized: boolean;
  data_size: number;
}

describe('the setting', () => {
  const good = {
    connections: { main: { url: 'redis://127.0.0.1:6379' } },
    supervisors: [{ name: 'emails', connection: 'main', queues: ['emails'] }],
    processors: { emails: './emails.ts' },
  };

  it('takes recorder.maxPayloadBytes up to 8 MB, and refuses more with the reason', () => {
    const config = validate({ ...good, recorder: { maxPayloadBytes: MAX_PAYLOAD_CAP } }, 'test.json', '/');
    expect(config.recorder.maxPayloadBytes).toBe(MAX_PAYLOAD_CAP);
    expect(validate(good, 'test.json', '/').recorder.maxPayloadBytes).toBeUndefined();
    const tooBig = () =>
      validate({ ...good, recorder: { maxPayloadBytes: MAX_PAYLOAD_CAP + 1 } }, 'test.json', '/');
    expect(tooBig).toThrow(ConfigError);
    expect(tooBig).toThrow(/recorder\.maxPayloadBytes: must be at most 8388608 bytes \(8 MB\)/);
    expect(() => validate({ ...good, recorder: { maxPayloadBytes: 100 } }, 'x.json', '/')).toThrow(
      /recorder\.maxPayloadBytes: must be at least 1024 bytes/,
    );
    expect(() => validate({ ...good, recorder: { maxPayloadBytes: '5MB' } }, 'x.json', '/')).toThrow(
      /recorder\.maxPayloadBytes: must be a whole number of bytes/,
    );
    expect(() => validate({ ...good, recorder: { maxPayload: 5 } }, 'x.json', '/')).toThrow(/maxPayload/);
  });

  it('takes the field, else the variable, else 16 KB; a bad variable is refused with the range', () => {
    expect(payloadCapSetting(1_000_000, { [PAYLOAD_CAP_ENV]: '2048' })).toEqual({
      bytes: 1_000_000,
      source: 'recorder.maxPayloadBytes',
    });
    expect(payloadCapSetting(undefined, { [PAYLOAD_CAP_ENV]: ' 2048 ' }).bytes).toBe(2048);
    expect(payloadCapSetting(undefined, {}).bytes).toBe(DEFAULT_PAYLOAD_CAP);
    expect(DEFAULT_PAYLOAD_CAP).toBe(16 * 1024);
    for (const bad of ['8388609', '1e9', 'lots', '-1', '1.5', '10']) {
      expect(() => payloadCapSetting(undefined, { [PAYLOAD_CAP_ENV]: bad })).toThrow(
        new RegExp(`^${PAYLOAD_CAP_ENV} must be`),
      );
    }
    expect(() => payloadCapSetting(undefined, { [PAYLOAD_CAP_ENV]: '8388609' })).toThrow(
      /at most 8388608 \(8 MB\)/,
    );
    // The recorder's own ceiling grows with the cap, never below the default's.
    expect(textCeilingFor(DEFAULT_PAYLOAD_CAP)).toBe(128 * 1024);
    expect(textCeilingFor(MAX_PAYLOAD_CAP)).toBeGreaterThan(2 * MAX_PAYLOAD_CAP);
  });

  it('stops `watchtower supervisor` at once when the variable is out of range', async () => {
    const scratch = scratchDir();
    try {
      const config = writeConfig(scratch.dir, [{ name: 'cap', queues: [uniqueName('cap')] }]);
      const run = await runCli(['supervisor', `--config=${config}`], {
        env: cliEnv({ [PAYLOAD_CAP_ENV]: String(64 * 1024 * 1024) }),
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${PAYLOAD_CAP_ENV} must be at most 8388608 (8 MB), got 67108864`);
    } finally {
      scratch.cleanup();
    }
  });
});

describe('a 5 MB payload through real hosts', () => {
  const database = openTestDatabase();
  const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
  const scratch = scratchDir();
  const queues = {
    configured: uniqueName('cap-config'),
    variable: uniqueName('cap-env'),
    defaulted: uniqueName('cap-default'),
  };
  const bullQueues = Object.values(queues).map(testQueue);

  afterAll(async () => {
    await killAllHosts();
    for (const queue of bullQueues) {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    for (const table of ['watchtower_job_attempts', 'watchtower_jobs', 'watchtower_metrics']) {
      await client.query(`delete from ${table} where queue = any($1)`, [Object.values(queues)]);
    }
    await client.end();
    await database.close();
    scratch.cleanup();
  });

  /** A host on its own queue, with `recorder` in its configuration file and `env` added. */
  async function hostFor(queue: string, recorder: Record<string, number>, env: Record<string, string>) {
    const path = writeConfig(scratch.dir, [{ name: uniqueName('cap'), queues: [queue], concurrency: 2 }]);
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...config, recorder }));
    return startHost(path, database.db, {
      env: cliEnv({ WATCHTOWER_SPOOL_DIR: `${scratch.dir}/spool-${queue}`, ...env }),
    });
  }

  async function finishedRows(queue: string, count: number): Promise<Map<string, Row>> {
    const rows = await waitFor(
      async () => {
        const { rows } = await client.query<Row>(
          `select name, status, payload, result, payload_truncated, sanitized, data_size
           from watchtower_jobs where queue = $1 and status in ('completed', 'failed')`,
          [queue],
        );
        return rows.length === count ? rows : undefined;
      },
      120_000,
      `${count} jobs of ${queue} recorded finished`,
    );
    return new Map(rows.map((row) => [row.name, row]));
  }

  it('stores it whole with the setting (cleaned all the same), and cut and flagged without it', async () => {
    const big = 'x'.repeat(FIVE_MB);
    // NUL and a lone surrogate deep inside: Postgres refuses both, so cleaning must still run on
    // a payload kept whole.
    const dirty = `${'y'.repeat(FIVE_MB / 2)}\u0000middle\ud800${'z'.repeat(FIVE_MB / 2)}`;
    const jobs = [
      { name: 'big', data: { text: big } },
      { name: 'big-result', data: { text: big, returns: 'data' } },
      { name: 'dirty', data: { text: dirty } },
      { name: 'small', data: { text: 'small' } },
    ];
    const [configured, variable, defaulted] = bullQueues as [
      (typeof bullQueues)[0],
      (typeof bullQueues)[0],
      (typeof bullQueues)[0],
    ];
    await Promise.all([
      hostFor(queues.configured, { maxPayloadBytes: MAX_PAYLOAD_CAP }, {}),
      // The variable raises the cap to 6 MB for the host without a `recorder` section.
      hostFor(queues.variable, {}, { [PAYLOAD_CAP_ENV]: String(6 * 1024 * 1024) }),
      hostFor(queues.defaulted, {}, {}),
    ]);
    // Added once the hosts run: a worker process busy with 5 MB jobs from its first second is
    // slow to report itself running on a loaded machine, which is not what this test is about.
    await configured.addBulk(jobs);
    await variable.addBulk(jobs.slice(0, 1));
    await defaulted.addBulk(jobs.slice(0, 1));
    const [withField, withVariable, withDefault] = await Promise.all([
      finishedRows(queues.configured, jobs.length),
      finishedRows(queues.variable, 1),
      finishedRows(queues.defaulted, 1),
    ]);
    const size = Buffer.byteLength(JSON.stringify({ text: big }));
    expect(size).toBeGreaterThan(FIVE_MB);

    for (const rows of [withField, withVariable]) {
      const row = rows.get('big');
      expect(row).toMatchObject({
        status: 'completed',
        payload_truncated: false,
        sanitized: false,
        data_size: size,
      });
      expect(row?.payload).toEqual({ text: big });
    }

    const result = withField.get('big-result');
    expect(result).toMatchObject({ status: 'completed', payload_truncated: false });
    expect(result?.result).toEqual({ text: big, returns: 'data' });

    const cleaned = withField.get('dirty');
    expect(cleaned).toMatchObject({ status: 'completed', payload_truncated: false, sanitized: true });
    expect(cleaned?.payload).toEqual({ text: dirty.replace('\u0000', '\ufffd').replace('\ud800', '\ufffd') });

    expect(withField.get('small')).toMatchObject({ payload: { text: 'small' }, payload_truncated: false });

    // The default host keeps 16 KB of it, as a JSON string of the start, flagged.
    const cut = withDefault.get('big');
    expect(cut).toMatchObject({
      status: 'completed',
      payload_truncated: true,
      sanitized: false,
      data_size: size,
    });
    expect(typeof cut?.payload).toBe('string');
    expect(Buffer.byteLength(cut?.payload as string)).toBeLessThanOrEqual(DEFAULT_PAYLOAD_CAP);
    expect(cut?.payload as string).toMatch(/^\{"text":"xxxx/);
  }, 240_000);
});
