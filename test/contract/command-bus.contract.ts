import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusError, type BusErrorCode } from '../../core/bus/bus-error';
import type { ClaimedCommand, CommandBus, CommandTarget } from '../../core/bus/command-bus';
import { CommandExecutor } from '../../core/bus/command-executor';
import { TERMINATE_KEY, workerCommandKey } from '../../core/bus/keys';

/**
 * The one contract every command bus driver passes, in every runtime it runs in. Each suite run
 * names its driver and runtime, e.g. "command bus [redis driver, workerd]".
 *
 * Runs share one database and one Redis, so every test addresses fresh random targets and keys.
 */
export function commandBusContract(
  label: string,
  open: () => Promise<CommandBus>,
  options: { push: boolean },
): void {
  describe(`command bus [${label}]`, () => {
    let bus: CommandBus;
    beforeAll(async () => {
      bus = await open();
    });
    afterAll(async () => {
      await bus?.close();
    });

    const uid = () => crypto.randomUUID();
    const key = () => `watchtower:test:${uid()}`;
    const target = (kind: CommandTarget['kind'] = 'worker'): CommandTarget => ({ kind, id: `t-${uid()}` });
    const claimer = () => `host-${uid()}`;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    async function expectBusError(promise: Promise<unknown>, code: BusErrorCode): Promise<BusError> {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, `expected BusError(${code})`).toBeInstanceOf(BusError);
      expect((error as BusError).code).toBe(code);
      expect((error as BusError).message.length).toBeGreaterThan(10);
      return error as BusError;
    }

    describe('key/value contract (seed)', () => {
      it('put then get returns the value; get of a missing key is null', async () => {
        const k = key();
        expect(await bus.get(k)).toBeNull();
        await bus.put(k, { type: 'pause', n: 1, nested: ['a', null, true] });
        expect(await bus.get(k)).toEqual({ type: 'pause', n: 1, nested: ['a', null, true] });
      });

      it('put twice keeps the last value', async () => {
        const k = key();
        await bus.put(k, 'first');
        await bus.put(k, 'second');
        expect(await bus.get(k)).toBe('second');
      });

      it('forget removes the value', async () => {
        const k = key();
        await bus.put(k, 42);
        await bus.forget(k);
        expect(await bus.get(k)).toBeNull();
        await bus.forget(k); // forgetting a missing key is not an error
      });

      it('get after the TTL gives null', async () => {
        const k = key();
        await bus.put(k, 'short-lived', 1);
        expect(await bus.get(k)).toBe('short-lived');
        await sleep(1300);
        expect(await bus.get(k)).toBeNull();
      });

      it('the seed key names work as keys', async () => {
        const worker = uid();
        await bus.put(workerCommandKey(worker), 'stop');
        expect(await bus.get(`watchtower:worker:${worker}:command`)).toBe('stop');
        await bus.forget(workerCommandKey(worker));
        expect(TERMINATE_KEY).toBe('watchtower:terminate');
      });

      it('refuses bad keys with a clear error and stores nothing', async () => {
        for (const bad of [
          '',
          'nope',
          'watchtower:has space',
          'watchtower:',
          `watchtower:${'x'.repeat(300)}`,
          'watchtower:é',
        ]) {
          await expectBusError(bus.put(bad, 1), 'invalid_key');
          await expectBusError(bus.get(bad), 'invalid_key');
          await expectBusError(bus.forget(bad), 'invalid_key');
        }
        for (const bad of [42, null, undefined, { key: 'watchtower:x' }]) {
          await expectBusError(bus.put(bad as unknown as string, 1), 'invalid_key');
        }
      });

      it('refuses bad values with a clear error and stores nothing', async () => {
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const bads: unknown[] = [
          undefined,
          () => 1,
          Symbol('x'),
          circular,
          Number.NaN,
          'x'.repeat(70 * 1024),
          10n,
        ];
        for (const bad of bads) {
          const k = key();
          await expectBusError(bus.put(k, bad), 'invalid_value');
          expect(await bus.get(k)).toBeNull();
        }
      });

      it('refuses bad TTLs with a clear error and stores nothing', async () => {
        for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10 ** 9, '10', null]) {
          const k = key();
          await expectBusError(bus.put(k, 'v', bad as number), 'invalid_ttl');
          expect(await bus.get(k)).toBeNull();
        }
      });
    });

    describe('commands', () => {
      it('moves pending → claimed → done with its result', async () => {
        const t = target();
        const sent = await bus.send({
          target: t,
          type: 'worker.pause',
          args: { reason: 'deploy' },
          createdBy: 'test',
        });
        expect(sent.status).toBe('pending');
        expect(sent.args).toEqual({ reason: 'deploy' });
        expect((await bus.find(sent.id))?.status).toBe('pending');

        const host = claimer();
        const [claimed] = await bus.claim({ claimer: host, targets: [t] });
        expect(claimed?.id).toBe(sent.id);
        expect(claimed?.status).toBe('claimed');
        expect(claimed?.claimedBy).toBe(host);
        expect(claimed?.deliveries).toBe(1);
        const stored = await bus.find(sent.id);
        expect(stored?.status).toBe('claimed');
        expect(stored?.leaseUntil?.getTime()).toBeGreaterThan(Date.now() - 5000);

        const done = await bus.acknowledge(sent.id, claimed!.claimToken, {
          ok: true,
          result: { paused: true },
        });
        expect(done.status).toBe('done');
        expect(done.result).toEqual({ paused: true });
        expect(done.finishedAt).toBeInstanceOf(Date);
        const found = await bus.find(sent.id);
        expect(found?.status).toBe('done');
        expect(found?.result).toEqual({ paused: true });
        expect(found?.createdBy).toBe('test');
      });

      it('moves to failed with the error', async () => {
        const t = target();
        const sent = await bus.send({ target: t, type: 'worker.stop' });
        const [claimed] = await bus.claim({ claimer: claimer(), targets: [t] });
        const failed = await bus.acknowledge(sent.id, claimed!.claimToken, {
          ok: false,
          error: 'worker is not running',
        });
        expect(failed.status).toBe('failed');
        expect(failed.error).toBe('worker is not running');
        expect((await bus.find(sent.id))?.status).toBe('failed');
      });

      it('hands out commands to one target in the order they were sent', async () => {
        const t = target('supervisor');
        const sent: string[] = [];
        for (let i = 0; i < 12; i++) sent.push((await bus.send({ target: t, type: 'step', args: { i } })).id);
        const received: string[] = [];
        const host = claimer();
        for (let round = 0; round < 20 && received.length < sent.length; round++) {
          const batch = await bus.claim({ claimer: host, targets: [t], limit: 5 });
          for (const command of batch) {
            received.push(command.id);
            await bus.acknowledge(command.id, command.claimToken, { ok: true });
          }
        }
        expect(received).toEqual(sent);
      });

      it('claims for all of a host’s targets in one call', async () => {
        const workers = Array.from({ length: 50 }, () => target('worker'));
        const others = [target('host'), target('supervisor'), target('connection')];
        const all = [...workers, ...others];
        const ids = new Set<string>();
        for (const t of all) ids.add((await bus.send({ target: t, type: 'ping' })).id);
        const claimed = await bus.claim({ claimer: claimer(), targets: all });
        expect(new Set(claimed.map((c) => c.id))).toEqual(ids);
      });

      it('gives two hosts claiming at once disjoint commands', async () => {
        const targets = Array.from({ length: 8 }, () => target('connection'));
        const sent = new Set<string>();
        for (let i = 0; i < 3; i++) {
          for (const t of targets)
            sent.add((await bus.send({ target: t, type: 'job.retry', args: { i } })).id);
        }
        const seen = new Map<string, string>();
        const hosts = [claimer(), claimer()];
        for (let round = 0; round < 10 && seen.size < sent.size; round++) {
          const batches = await Promise.all(
            hosts.map((host) => bus.claim({ claimer: host, targets, limit: 7 })),
          );
          batches.forEach((batch, index) => {
            for (const command of batch) {
              expect(seen.has(command.id), `command ${command.id} handed out twice`).toBe(false);
              seen.set(command.id, hosts[index]!);
            }
          });
          for (const batch of batches) {
            for (const command of batch) await bus.acknowledge(command.id, command.claimToken, { ok: true });
          }
        }
        expect(new Set(seen.keys())).toEqual(sent);
      });

      it('hands out at most perTarget commands of each target, the next once one is answered', async () => {
        const [a, b] = [target('supervisor'), target('connection')];
        const sentA: string[] = [];
        for (let i = 0; i < 3; i++) sentA.push((await bus.send({ target: a, type: 'step', args: { i } })).id);
        const sentB = (await bus.send({ target: b, type: 'step' })).id;
        const host = claimer();
        const first = await bus.claim({ claimer: host, targets: [a, b], perTarget: 1 });
        expect(first.map((c) => c.id).sort()).toEqual([sentA[0], sentB].sort());
        // The rest of `a` is not handed out while its first command is held: it stays pending.
        expect(await bus.claim({ claimer: claimer(), targets: [a, b], perTarget: 1 })).toEqual([]);
        expect((await bus.find(sentA[1]!))?.status).toBe('pending');
        const heldA = first.find((c) => c.id === sentA[0])!;
        await bus.acknowledge(heldA.id, heldA.claimToken, { ok: true });
        const second = await bus.claim({ claimer: claimer(), targets: [a, b], perTarget: 1 });
        expect(second.map((c) => c.id)).toEqual([sentA[1]]);
        expect(second[0]?.deliveries).toBe(1);
        await bus.acknowledge(second[0]!.id, second[0]!.claimToken, { ok: true });
        // More than one per target when asked for.
        const c = target('supervisor');
        const sentC: string[] = [];
        for (let i = 0; i < 3; i++) sentC.push((await bus.send({ target: c, type: 'step', args: { i } })).id);
        const two = await bus.claim({ claimer: host, targets: [c], perTarget: 2 });
        expect(two.map((x) => x.id)).toEqual(sentC.slice(0, 2));
      });

      it('lets a command waiting behind a held one expire at its TTL without handing it out', async () => {
        const t = target('connection');
        const long = await bus.send({ target: t, type: 'failed.retry-all' });
        const behind = await bus.send({ target: t, type: 'job.retry', ttl: 1 });
        const [held] = await bus.claim({ claimer: claimer(), targets: [t], perTarget: 1 });
        expect(held?.id).toBe(long.id);
        await sleep(1300);
        expect(await bus.claim({ claimer: claimer(), targets: [t], perTarget: 1 })).toEqual([]);
        await bus.acknowledge(long.id, held!.claimToken, { ok: true });
        expect(await bus.claim({ claimer: claimer(), targets: [t], perTarget: 1 })).toEqual([]);
        const expired = await bus.find(behind.id);
        expect(expired?.status).toBe('expired');
        expect(expired?.claimedBy).toBeNull();
        expect(expired?.deliveries).toBe(0);
      });

      it('hands a lapsed claim out again one command at a time with perTarget', async () => {
        const t = target();
        const sent: string[] = [];
        for (let i = 0; i < 3; i++) sent.push((await bus.send({ target: t, type: 'step', args: { i } })).id);
        const lapsed = await bus.claim({ claimer: claimer(), targets: [t], leaseSeconds: 0.3 });
        expect(lapsed.map((c) => c.id)).toEqual(sent);
        await sleep(600);
        const again = await bus.claim({ claimer: claimer(), targets: [t], perTarget: 1 });
        expect(again.map((c) => c.id)).toEqual([sent[0]]);
        expect(again[0]?.deliveries).toBe(2);
        // The other two stay with the lapsed claim until the first is answered: order holds.
        expect(await bus.claim({ claimer: claimer(), targets: [t], perTarget: 1 })).toEqual([]);
        await bus.acknowledge(again[0]!.id, again[0]!.claimToken, { ok: true });
        const next = await bus.claim({ claimer: claimer(), targets: [t], perTarget: 1 });
        expect(next.map((c) => c.id)).toEqual([sent[1]]);
      });

      it('hands a claimed command out again once its lease ends unacknowledged', async () => {
        const t = target();
        const sent = await bus.send({ target: t, type: 'worker.restart' });
        const first = await bus.claim({ claimer: claimer(), targets: [t], leaseSeconds: 0.5 });
        expect(first.map((c) => c.id)).toEqual([sent.id]);
        // While the lease holds, nothing of this target is handed out.
        expect(await bus.claim({ claimer: claimer(), targets: [t] })).toEqual([]);
        await sleep(800);
        const second = await bus.claim({ claimer: claimer(), targets: [t] });
        expect(second.map((c) => c.id)).toEqual([sent.id]);
        expect(second[0]?.deliveries).toBe(2);
        expect(second[0]?.claimToken).not.toBe(first[0]?.claimToken);
        // The first claim lost the command: its acknowledgement is refused.
        await expectBusError(bus.acknowledge(sent.id, first[0]!.claimToken, { ok: true }), 'lease_lost');
        const done = await bus.acknowledge(sent.id, second[0]!.claimToken, { ok: true, result: 'restarted' });
        expect(done.status).toBe('done');
        // Repeating the winning acknowledgement changes nothing.
        const again = await bus.acknowledge(sent.id, second[0]!.claimToken, { ok: true, result: 'other' });
        expect(again.result).toBe('restarted');
      });

      it('keeps a lease that is extended', async () => {
        const t = target();
        const sent = await bus.send({ target: t, type: 'failed.retry-all' });
        const [held] = await bus.claim({ claimer: claimer(), targets: [t], leaseSeconds: 0.5 });
        expect(await bus.extendLease(sent.id, held!.claimToken, 10)).toBe(true);
        await sleep(800);
        expect(await bus.claim({ claimer: claimer(), targets: [t] })).toEqual([]);
        expect(await bus.extendLease(sent.id, crypto.randomUUID(), 10)).toBe(false);
      });

      it('carries out a command delivered twice only once', async () => {
        const t = target();
        const host = claimer();
        const sent = await bus.send({ target: t, type: 'worker.stop' });
        let runs = 0;
        let failNextAck = true;
        // A fault on purpose: the first acknowledgement is lost on the way to the bus.
        const lossy: CommandBus = Object.create(bus, {
          acknowledge: {
            value: (...args: Parameters<CommandBus['acknowledge']>) => {
              if (failNextAck) {
                failNextAck = false;
                return Promise.reject(new BusError('unavailable', 'acknowledgement lost on purpose'));
              }
              return bus.acknowledge(...args);
            },
          },
        });
        const executor = new CommandExecutor(lossy, async () => {
          runs++;
          return { stopped: true };
        });
        const first = await bus.claim({ claimer: host, targets: [t], leaseSeconds: 0.5 });
        const answered = await executor.execute(first);
        expect(answered[0]).toBeInstanceOf(BusError);
        await sleep(800);
        const second = await bus.claim({ claimer: host, targets: [t] });
        expect(second[0]?.id).toBe(sent.id);
        expect(second[0]?.deliveries).toBe(2);
        const [stored] = await executor.execute(second);
        expect(runs).toBe(1);
        expect((stored as ClaimedCommand).status).toBe('done');
        expect((await bus.find(sent.id))?.result).toEqual({ stopped: true });
      });

      it('expires an unclaimed command after its TTL and never hands it out', async () => {
        const t = target();
        const sent = await bus.send({ target: t, type: 'worker.pause', ttl: 1 });
        await sleep(1300);
        expect((await bus.find(sent.id))?.status).toBe('expired');
        expect(await bus.claim({ claimer: claimer(), targets: [t] })).toEqual([]);
        const found = await bus.find(sent.id);
        expect(found?.status).toBe('expired');
        expect(found?.claimedBy).toBeNull();
        // A later command to the same target is not held up by the expired one.
        const next = await bus.send({ target: t, type: 'worker.resume' });
        expect((await bus.claim({ claimer: claimer(), targets: [t] })).map((c) => c.id)).toEqual([next.id]);
      });

      it('does not hand a lapsed claim out again after its TTL', async () => {
        const t = target();
        const sent = await bus.send({ target: t, type: 'worker.pause', ttl: 1 });
        const [held] = await bus.claim({ claimer: claimer(), targets: [t], leaseSeconds: 0.3 });
        expect(held?.id).toBe(sent.id);
        await sleep(1300);
        expect(await bus.claim({ claimer: claimer(), targets: [t] })).toEqual([]);
        expect((await bus.find(sent.id))?.status).toBe('expired');
        await expectBusError(bus.acknowledge(sent.id, held!.claimToken, { ok: true }), 'lease_lost');
      });

      it('stores one command when the same id is sent twice', async () => {
        const t = target();
        const id = crypto.randomUUID();
        const first = await bus.send({ id, target: t, type: 'queue.pause' });
        const second = await bus.send({ id, target: t, type: 'queue.pause' });
        expect(second.id).toBe(first.id);
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime());
        expect(await bus.claim({ claimer: claimer(), targets: [t] })).toHaveLength(1);
      });

      it('finds nothing for unknown or malformed ids', async () => {
        expect(await bus.find(crypto.randomUUID())).toBeNull();
        expect(await bus.find('not-a-uuid')).toBeNull();
        expect(await bus.find("'; drop table watchtower_commands; --")).toBeNull();
        await expectBusError(
          bus.acknowledge(crypto.randomUUID(), crypto.randomUUID(), { ok: true }),
          'not_found',
        );
      });

      it('refuses bad commands, claims and outcomes with a clear error', async () => {
        const t = target();
        const badSends: Array<[unknown, BusErrorCode]> = [
          [null, 'invalid_command'],
          [{ target: t }, 'invalid_command'],
          [{ target: { kind: 'planet', id: 'x' }, type: 'ping' }, 'invalid_command'],
          [{ target: { kind: 'worker', id: '' }, type: 'ping' }, 'invalid_command'],
          [{ target: { kind: 'worker', id: 'has space' }, type: 'ping' }, 'invalid_command'],
          [{ target: t, type: 'Bad Type' }, 'invalid_command'],
          [{ target: t, type: 'ping', args: [1, 2] }, 'invalid_command'],
          [{ target: t, type: 'ping', args: { big: 'x'.repeat(70 * 1024) } }, 'invalid_command'],
          [{ target: t, type: 'ping', ttl: 0 }, 'invalid_ttl'],
          [{ target: t, type: 'ping', ttl: '60' }, 'invalid_ttl'],
          [{ target: t, type: 'ping', id: 'not-a-uuid' }, 'invalid_command'],
        ];
        for (const [input, code] of badSends) {
          await expectBusError(bus.send(input as never), code);
        }
        expect(await bus.claim({ claimer: claimer(), targets: [t] })).toEqual([]);

        const badClaims: unknown[] = [
          null,
          { claimer: '', targets: [t] },
          { claimer: 'h', targets: 'all' },
          { claimer: 'h', targets: [{ kind: 'worker' }] },
          { claimer: 'h', targets: [t], leaseSeconds: 0 },
          { claimer: 'h', targets: [t], limit: 0 },
          { claimer: 'h', targets: [t], limit: 1.5 },
          { claimer: 'h', targets: [t], perTarget: 0 },
          { claimer: 'h', targets: [t], perTarget: 2.5 },
          { claimer: 'h', targets: [t], perTarget: '1' },
        ];
        for (const request of badClaims) await expectBusError(bus.claim(request as never), 'invalid_claim');

        const sent = await bus.send({ target: t, type: 'ping' });
        const [held] = await bus.claim({ claimer: claimer(), targets: [t] });
        await expectBusError(bus.acknowledge(sent.id, 'nope', { ok: true }), 'invalid_outcome');
        await expectBusError(
          bus.acknowledge(sent.id, held!.claimToken, { ok: false } as never),
          'invalid_outcome',
        );
        await expectBusError(bus.acknowledge(sent.id, held!.claimToken, null as never), 'invalid_outcome');
        expect((await bus.find(sent.id))?.status).toBe('claimed');
      });

      if (options.push) {
        it('wakes a listener at once when a command is sent', async () => {
          expect(bus.listen).toBeTypeOf('function');
          const t = target('host');
          const woken: CommandTarget[] = [];
          const stop = await bus.listen!((woke) => woken.push(woke));
          try {
            await bus.send({ target: t, type: 'host.terminate' });
            for (let i = 0; i < 100 && !woken.some((w) => w.id === t.id); i++) await sleep(20);
            expect(woken).toContainEqual(t);
          } finally {
            await stop();
          }
        });
      } else {
        it('offers no push where the runtime cannot listen (hosts poll instead)', () => {
          expect(bus.listen).toBeUndefined();
        });
      }

      it('cleans up in bounded batches without touching open commands', async () => {
        const t = target();
        const open = await bus.send({ target: t, type: 'ping' });
        const touched = await bus.cleanup({ limit: 10 });
        expect(touched).toBeGreaterThanOrEqual(0);
        expect(touched).toBeLessThanOrEqual(30);
        expect((await bus.find(open.id))?.status).toBe('pending');
      });
    });
  });
}
