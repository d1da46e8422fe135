import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedCommand, Command, CommandBus, CommandTarget } from '../../core/bus/command-bus';
import {
  type HostProcess,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/** Seconds a claimed command stays a host's without renewal, in this file's hosts (default 30). */
const LEASE_SECONDS = 2;
/** How long the jobs run that make `supervisor.pause` a long command: several leases. */
const LONG_JOB_MS = 8_000;

/**
 * Two hosts on one connection, both running the same two supervisors, so each command to a
 * supervisor may go to either host. A `supervisor.pause` waits for the jobs its worker processes
 * are running: with a long job on every worker process, it is the long command (the stand-in for a
 * two-minute `failed.retry-all`), and a `worker.start` behind it is the short one. Whether
 * `worker.start` ran once is plain to see: the fleet has exactly one more worker process.
 *
 * Commands queue up behind a long one when they arrive while their target is busy. The test holds
 * each supervisor's first command itself, as a third host would, sends the long command and the
 * short one behind it, and only then answers the first: both are pending when the hosts next claim.
 */
describe('commands waiting behind a long one, two hosts on one connection', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const first = uniqueName('cl-first');
  const second = uniqueName('cl-second');
  const queues = { [first]: uniqueName('cl-queue'), [second]: uniqueName('cl-queue') };
  const opened: Queue[] = [];
  const held = new Map<string, ClaimedCommand>();
  let bus: CommandBus;
  let hosts: HostProcess[] = [];

  const supervisor = (name: string): CommandTarget => ({ kind: 'supervisor', id: name });

  /** The live worker processes of a supervisor across both hosts. */
  const fleetWorkers = async (name: string) => {
    const rows = (await Promise.all(hosts.map((host) => workersOf(db, host.hostId)))).flat();
    return rows.filter((row) => row.supervisor === name && row.status !== 'stopped' && row.status !== 'dead');
  };

  /** Puts a long job on every worker process of the supervisor and waits until each runs one. */
  const keepBusy = async (name: string) => {
    const queue = testQueue(queues[name] ?? '');
    opened.push(queue);
    await queue.addBulk(
      hosts.map((_, i) => ({ name: 'long', data: { ms: LONG_JOB_MS, label: `long-${i}` } })),
    );
    await waitFor(
      async () => {
        const rows = await fleetWorkers(name);
        return rows.length === hosts.length && rows.every((row) => row.current_job !== null);
      },
      20_000,
      `every worker process of ${name} to run a long job`,
    );
  };

  const answered = (id: string, timeoutMs = 40_000): Promise<Command> =>
    waitFor(
      async () => {
        const command = await bus.find(id);
        return command && ['done', 'failed', 'expired'].includes(command.status) ? command : undefined;
      },
      timeoutMs,
      `command ${id} to be answered`,
    );

  /** Answers the command the test held, which lets the hosts claim what queued up behind it. */
  const release = async (name: string) => {
    const command = held.get(name);
    if (!command) throw new Error(`no command held for ${name}`);
    await bus.acknowledge(command.id, command.claimToken, { ok: true, result: 'held by the test' });
  };

  beforeAll(async () => {
    bus = openTestBus(db);
    // Claimed before any host runs, so no host can take them first.
    for (const name of [first, second])
      await bus.send({ target: supervisor(name), type: 'supervisor.continue' });
    const claimed = await bus.claim({
      claimer: 'test-holder',
      targets: [supervisor(first), supervisor(second)],
      leaseSeconds: 300,
    });
    for (const command of claimed) held.set(command.target.id, command);
    expect([...held.keys()].sort()).toEqual([first, second].sort());

    const config = writeConfig(
      scratch.dir,
      [first, second].map((name) => ({
        name,
        queues: [queues[name] ?? ''],
        minProcesses: 1,
        maxProcesses: 1,
      })),
      { commandLease: LEASE_SECONDS },
    );
    hosts = await Promise.all([startHost(config, db, { workers: 2 }), startHost(config, db, { workers: 2 })]);
  });

  afterAll(async () => {
    await Promise.all(hosts.map((host) => host.stop()));
    await killAllHosts();
    await Promise.all(opened.map((queue) => queue.obliterate({ force: true }).then(() => queue.close())));
    await bus?.close();
    await database.close();
    scratch.cleanup();
  });

  it('carries out a long command and the short one behind it exactly once each', async () => {
    await keepBusy(first);
    const long = await bus.send({ target: supervisor(first), type: 'supervisor.pause', ttl: 120 });
    const short = await bus.send({
      target: supervisor(first),
      type: 'worker.start',
      args: { queue: queues[first] },
      ttl: 120,
    });
    await release(first);

    const longDone = await answered(long.id);
    const shortDone = await answered(short.id);
    expect(longDone.status, longDone.error ?? '').toBe('done');
    // The scenario took place: the long command ran for several leases.
    const heldMs = (longDone.finishedAt?.getTime() ?? 0) - (longDone.claimedAt?.getTime() ?? 0);
    expect(heldMs).toBeGreaterThan(2 * LEASE_SECONDS * 1000);

    expect(shortDone.status, shortDone.error ?? '').toBe('done');
    // Handed out once, and only once the long one was answered: it never waited under a lease.
    expect(shortDone.deliveries).toBe(1);
    expect(shortDone.claimedAt?.getTime()).toBeGreaterThanOrEqual(longDone.finishedAt?.getTime() ?? 0);
    expect(longDone.deliveries).toBe(1);
    // One worker.start, one more worker process in the fleet.
    await waitFor(async () => (await fleetWorkers(first)).length >= 3, 10_000, 'the started worker process');
    await expectSteady(async () => (await fleetWorkers(first)).length, 3);
  });

  it('lets a command that waits behind a long one past its TTL expire, and never runs it', async () => {
    await keepBusy(second);
    const long = await bus.send({ target: supervisor(second), type: 'supervisor.pause', ttl: 120 });
    const doomed = await bus.send({
      target: supervisor(second),
      type: 'worker.start',
      args: { queue: queues[second] },
      ttl: 3,
    });
    await release(second);

    const longDone = await answered(long.id);
    expect(longDone.status, longDone.error ?? '').toBe('done');
    expect(longDone.finishedAt?.getTime()).toBeGreaterThan(doomed.expiresAt.getTime());
    const expired = await answered(doomed.id);
    expect(expired.status).toBe('expired');
    // No host ever held it, so none could run it.
    expect(expired.claimedBy).toBeNull();
    expect(expired.deliveries).toBe(0);
    await expectSteady(async () => (await fleetWorkers(second)).length, 2);
  });
});

/** Reads `read` for a few seconds (longer than the hosts take to act and beat) and expects `value` throughout. */
async function expectSteady(read: () => Promise<number>, value: number): Promise<void> {
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    expect(await read()).toBe(value);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
