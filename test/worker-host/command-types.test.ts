import { describe, expect, it } from 'vitest';
import { COMMAND_TYPES, CommandValidationError, parseCommand } from '../../core/commands/command-types';

describe('command types', () => {
  it('knows every command the worker-host carries out', () => {
    expect(COMMAND_TYPES).toEqual([
      'worker.stop',
      'worker.pause',
      'worker.resume',
      'worker.restart',
      'worker.start',
      'supervisor.scale',
      'supervisor.pause',
      'supervisor.continue',
      'supervisor.terminate',
      'job.retry',
      'job.delete',
      'failed.retry-all',
      'failed.delete-all',
      'queue.pause',
      'queue.resume',
      'host.reload',
      'host.restart',
      'host.terminate',
      'connection.test',
      'connection.discover',
    ]);
  });

  it('applies defaults', () => {
    expect(parseCommand({ type: 'failed.retry-all', target: { kind: 'connection' } })).toEqual({
      type: 'failed.retry-all',
      args: { filter: {}, limit: 100_000 },
    });
  });

  it('names the wrong field', () => {
    expect(() =>
      parseCommand({ type: 'job.retry', target: { kind: 'connection' }, args: { queue: 'q', jobId: 7 } }),
    ).toThrow(/^job\.retry: args\.jobId: /);
    expect(() =>
      parseCommand({
        type: 'failed.delete-all',
        target: { kind: 'host' },
        args: { filter: { failedAfter: 'yesterday' } },
      }),
    ).toThrow('failed.delete-all: args.filter.failedAfter: must be an ISO 8601 date-time');
    expect(() =>
      parseCommand({
        type: 'failed.retry-all',
        target: { kind: 'host' },
        args: { filter: { failedBefore: '0000-01-01T00:00:00Z' } },
      }),
    ).toThrow('failed.retry-all: args.filter.failedBefore: must be a date-time from year 1 on');
    expect(() =>
      parseCommand({ type: 'queue.pause', target: { kind: 'host' }, args: { queue: 'q', extra: 1 } }),
    ).toThrow(/args: Unrecognized key: "extra"/);
  });

  it('refuses a command sent to the wrong kind of target', () => {
    expect(() =>
      parseCommand({ type: 'supervisor.scale', target: { kind: 'worker' }, args: { processes: 2 } }),
    ).toThrow('supervisor.scale cannot be sent to a worker; it goes to a supervisor');
  });

  it('needs a worker id when a worker command goes to a host', () => {
    try {
      parseCommand({ type: 'worker.stop', target: { kind: 'host' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CommandValidationError);
      expect((error as CommandValidationError).fields).toEqual(['args.workerId']);
    }
    expect(parseCommand({ type: 'worker.stop', target: { kind: 'worker' } })).toEqual({
      type: 'worker.stop',
      args: {},
    });
  });

  it('refuses an unknown type, listing the known ones', () => {
    expect(() => parseCommand({ type: 'worker.explode', target: { kind: 'worker' } })).toThrow(
      /unknown command type "worker\.explode"; known types: worker\.stop, /,
    );
  });
});
