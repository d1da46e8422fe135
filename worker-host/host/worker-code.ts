import type { WatchtowerConfig } from '../config/config-schema';
import { allProcessors } from '../config/merge-config';
import { stopCompiler } from '../supervisor/compile-module';
import { compileProcessors } from '../supervisor/processor-build';
import { spawnWorker } from '../supervisor/spawn-worker';
import { buildWorkerEntry } from '../supervisor/worker-entry';
import type { WorkerProcessHooks } from '../supervisor/worker-process';

/** The code a host's worker processes run, built as the host starts and again on each reload. */
export class WorkerCode {
  /** The compiled CLI worker processes run from (undefined: the sources, through tsx). */
  private entry: string | undefined;
  /** TypeScript processors compiled for the worker processes (processor-build.ts): source → file. */
  private compiled = new Map<string, string>();

  constructor(private readonly log: (line: string) => void) {}

  async build(config: WatchtowerConfig): Promise<void> {
    const entry = await buildWorkerEntry();
    this.entry = entry.path;
    if (entry.path === undefined) {
      this.log(
        `worker processes run from the TypeScript sources: the compiled entry could not be made (${entry.error})`,
      );
    }
    if (entry.path !== undefined) {
      this.compiled = await compileProcessors(allProcessors(config), this.log);
    }
    await stopCompiler();
  }

  /** Compiled again, so an edited TypeScript processor reaches the processes started from now on. */
  async rebuild(config: WatchtowerConfig): Promise<void> {
    if (this.entry === undefined) return;
    this.compiled = await compileProcessors(allProcessors(config), this.log);
    await stopCompiler();
  }

  /** Starts a worker process on the compiled entry and processor, where there are ones. */
  readonly spawn: WorkerProcessHooks['spawn'] = (spec, workerId, options) =>
    spawnWorker(
      { ...spec, processorPath: this.compiled.get(spec.processorPath) ?? spec.processorPath },
      workerId,
      { ...options, entry: this.entry },
    );
}
