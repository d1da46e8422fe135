import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** What the local-only stand-ins (Neon relay and HTTP endpoint, Upstash REST front) share. */

/** Listens on host:port, failing with a message that names the stand-in and a port in use. */
export function listen(server: Server, port: number, host: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? `port ${port} is already in use` : error.message;
      reject(new Error(`${name}: cannot listen on ${host}:${port}: ${reason}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The request body, or 'too-large' past `maxBytes`. A body over the limit is drained before the
 * caller answers 413, so the client reads the answer instead of a reset; past `drainBytes` the
 * request is cut off.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  drainBytes = 64 * maxBytes,
): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (size > drainBytes) req.destroy();
    });
    req.on('end', () => resolve(size > maxBytes ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
