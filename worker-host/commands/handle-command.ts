import type { ClaimedCommand } from '../../core/bus/command-bus';
import { type CommandArgs, commandProgressKey, parseCommand } from '../../core/commands/command-types';
import type { HostControl } from '../host/host-control';
import type { WorkerProcess } from '../supervisor/worker-process';
import { connectionDiscover, connectionTest } from './connection-commands';
import { bulkFailed, deleteJob, retryJob } from './job-commands';

/** How long a command waits for a worker process to confirm a change before answering anyway. */
const CONFIRM_MS = 15_000;

/**
 * Carries out one claimed command on this host and returns its result; throws with a message
 * that says what went wrong (the executor turns it into a failed acknowledgement).
 */
export async function handleCommand(host: HostControl, command: ClaimedCommand): Promise<unknown> {
  const parsed = parseCommand(command);
  switch (parsed.type) {
    case 'worker.pause':
    case 'worker.resume':
    case 'worker.stop':
    case 'worker.restart':
      return workerCommand(host, command, parsed.type, parsed.args);
    case 'worker.start':
      return startWorker(host, command, parsed.args);
    case 'supervisor.scale': {
      const supervisor = supervisorOf(host, command);
      const processes = supervisor.scale(parsed.args.processes, parsed.args.queue);
      await host.heartbeatNow();
      return { supervisor: supervisor.name, processes };
    }
    case 'supervisor.pause':
    case 'supervisor.continue': {
      const supervisor = supervisorOf(host, command);
      if (parsed.type === 'supervisor.pause') supervisor.pause();
      else supervisor.continue();
      const want = parsed.type === 'supervisor.pause' ? 'paused' : 'running';
      const confirmed = await confirmAll(supervisor.workers, want);
      await host.heartbeatNow();
      return {
        supervisor: supervisor.name,
        status: supervisor.status,
        workers: supervisor.workers.length,
        confirmed,
      };
    }
    case 'supervisor.terminate': {
      const supervisor = supervisorOf(host, command);
      supervisor.terminate();
      await host.heartbeatNow();
      return { supervisor: supervisor.name, status: supervisor.status };
    }
    case 'job.retry':
      return retryJob(host, {
        ...parsed.args,
        connection: connectionOf(host, command, parsed.args.connection),
      });
    case 'job.delete':
      return deleteJob(host, {
        ...parsed.args,
        connection: connectionOf(host, command, parsed.args.connection),
      });
    case 'failed.retry-all':
    case 'failed.delete-all':
      return bulk(host, command, parsed.type === 'failed.retry-all' ? 'retry' : 'delete', parsed.args);
    case 'queue.pause':
    case 'queue.resume': {
      const connection = connectionOf(host, command, parsed.args.connection);
      const queue = host.queues.get(connection, parsed.args.queue);
      if (parsed.type === 'queue.pause') await queue.pause();
      else await queue.resume();
      return { connection, queue: parsed.args.queue, paused: await queue.isPaused() };
    }
    case 'host.reload':
      return host.reload();
    case 'host.restart': {
      const workers = host.restartWorkers();
      await host.heartbeatNow();
      return { hostId: host.hostId, restarting: workers };
    }
    case 'host.terminate':
      host.requestTerminate(parsed.args.graceSeconds);
      return { hostId: host.hostId, status: 'terminating' };
    case 'connection.test':
      return connectionTest(host, parsed.args);
    case 'connection.discover':
      return connectionDiscover(host, parsed.args);
  }
}

async function workerCommand(
  host: HostControl,
  command: ClaimedCommand,
  type: 'worker.pause' | 'worker.resume' | 'worker.stop' | 'worker.restart',
  args: CommandArgs<'worker.pause'>,
): Promise<unknown> {
  const workerId = command.target.kind === 'worker' ? command.target.id : (args.workerId ?? '');
  const found = host.findWorker(workerId);
  if (!found) {
    const departed = host.departedWorker(workerId);
    if (departed) {
      throw new Error(
        `worker ${workerId} no longer exists on host ${host.hostId}: it was ${departed.status} at ${departed.at.toISOString()}`,
      );
    }
    throw new Error(`worker ${workerId} does not exist on host ${host.hostId}`);
  }
  const { worker, supervisor } = found;
  if (worker.desired === 'gone') {
    throw new Error(
      `worker ${workerId} is being removed (scaled down, or its supervisor is terminating); it takes no commands`,
    );
  }
  const graceMs = supervisor.graceMs;
  const pid = worker.pid;
  let confirmed: boolean;
  switch (type) {
    case 'worker.pause':
      if (worker.desired === 'stopped') throw new Error(`worker ${workerId} is stopped; restart it first`);
      worker.pause();
      confirmed = await worker.waitFor((w) => w.status === 'paused', CONFIRM_MS);
      break;
    case 'worker.resume':
      if (worker.desired === 'stopped') throw new Error(`worker ${workerId} is stopped; restart it instead`);
      worker.resume();
      confirmed = await worker.waitFor((w) => w.status === 'running', CONFIRM_MS);
      break;
    case 'worker.stop':
      worker.stop(graceMs);
      // Stopping waits for the current jobs, which may take long: answer once it stopped, or say
      // it is still finishing them (the heartbeat shows `stopped` when it is).
      confirmed = await worker.waitFor((w) => w.status === 'stopped', CONFIRM_MS);
      break;
    case 'worker.restart':
      worker.restart(graceMs);
      confirmed = await worker.waitFor(
        (w) => w.pid !== null && w.pid !== pid && (w.status === 'running' || w.status === 'paused'),
        CONFIRM_MS + graceMs,
      );
      break;
  }
  await host.heartbeatNow();
  return { ...describeWorker(worker, supervisor.name), confirmed };
}

async function startWorker(
  host: HostControl,
  command: ClaimedCommand,
  args: CommandArgs<'worker.start'>,
): Promise<unknown> {
  const name = command.target.kind === 'supervisor' ? command.target.id : args.supervisor;
  let supervisor = name ? host.findSupervisor(name) : undefined;
  if (name && !supervisor) throw new Error(`host ${host.hostId} runs no supervisor named "${name}"`);
  if (!supervisor) {
    const serving = host.supervisors().filter((s) => s.config.queues.includes(args.queue));
    if (serving.length === 0) {
      throw new Error(
        `no supervisor on host ${host.hostId} serves queue "${args.queue}"; name one in args.supervisor`,
      );
    }
    if (serving.length > 1) {
      throw new Error(
        `several supervisors serve queue "${args.queue}" (${serving.map((s) => s.name).join(', ')}); name one in args.supervisor`,
      );
    }
    supervisor = serving[0]!;
  }
  const worker = supervisor.addWorker(args.queue);
  const confirmed = await worker.waitFor((w) => w.status === 'running' || w.status === 'paused', CONFIRM_MS);
  await host.heartbeatNow();
  return { ...describeWorker(worker, supervisor.name), confirmed };
}

function supervisorOf(host: HostControl, command: ClaimedCommand) {
  const supervisor = host.findSupervisor(command.target.id);
  if (!supervisor) throw new Error(`host ${host.hostId} runs no supervisor named "${command.target.id}"`);
  return supervisor;
}

/** A job or queue command's connection: its argument, else the connection it was sent to, else `default`. */
function connectionOf(host: HostControl, command: ClaimedCommand, given: string | undefined): string {
  const connection = given ?? (command.target.kind === 'connection' ? command.target.id : 'default');
  if (!host.queues.has(connection)) {
    const known = host.queues.names();
    throw new Error(
      `host ${host.hostId} has no connection named "${connection}" (it has: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  return connection;
}

async function bulk(
  host: HostControl,
  command: ClaimedCommand,
  action: 'retry' | 'delete',
  args: CommandArgs<'failed.retry-all'>,
): Promise<unknown> {
  const connection = connectionOf(host, command, args.filter.connection);
  const key = commandProgressKey(command.id);
  const result = await bulkFailed(host, action, {
    connection,
    filter: args.filter,
    limit: args.limit,
    signal: host.stopping,
    // Progress is best effort: a bus hiccup must not fail a bulk command halfway.
    onProgress: (progress) => host.bus.put(key, progress, 3600).catch(() => undefined),
  });
  await host.bus.put(key, result, 3600).catch(() => undefined);
  return { connection, ...result };
}

async function confirmAll(workers: WorkerProcess[], status: 'paused' | 'running'): Promise<boolean> {
  const live = workers.filter((w) => w.desired === 'running' || w.desired === 'paused');
  const results = await Promise.all(live.map((w) => w.waitFor((x) => x.status === status, CONFIRM_MS)));
  return results.every(Boolean);
}

function describeWorker(worker: WorkerProcess, supervisor: string) {
  return {
    workerId: worker.id,
    supervisor,
    queue: worker.spec.queue,
    status: worker.status,
    pid: worker.pid,
  };
}
