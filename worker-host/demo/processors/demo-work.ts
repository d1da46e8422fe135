/** Pretend work for the demo processors: a pause of `ms`, cut short when the job is cancelled. */
export function work(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('cancelled'));
    });
  });
}

export function randomBetween(min: number, max: number): number {
  return Math.round(min + Math.random() * (max - min));
}
