/** The seed's key names, kept as they were. */
export const TERMINATE_KEY = 'watchtower:terminate';

export function workerCommandKey(workerId: string): string {
  return `watchtower:worker:${workerId}:command`;
}
