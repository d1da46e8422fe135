/** The Workers page's address for a host, and for one worker process on it (the shared URL contract). */
export function workersUrl(hostId: string, workerId?: string | null): string {
  const params = new URLSearchParams({ host: hostId });
  if (workerId) params.set('worker', workerId);
  return `/workers?${params.toString()}`;
}

/**
 * "worker <id> on host <id>", each a link to the Workers page: the worker process highlighted on
 * its host, and the host alone. Ids are recorded text: rendered as text, never markup.
 */
export function WorkerLink({ workerId, hostId }: { workerId: string | null; hostId: string | null }) {
  if (workerId === null) return <span>–</span>;
  if (hostId === null) {
    return (
      <span class="worker-link">
        worker <code>{workerId}</code> <span class="cell-sub">(host not recorded)</span>
      </span>
    );
  }
  return (
    <span class="worker-link">
      worker{' '}
      <a href={workersUrl(hostId, workerId)} data-link="worker">
        <code>{workerId}</code>
      </a>{' '}
      on host{' '}
      <a href={workersUrl(hostId)} data-link="host">
        <code>{hostId}</code>
      </a>
    </span>
  );
}
