/**
 * LOCAL TEST TOOLING: a tiny HTTP server standing in for Cloudflare Access's certs endpoint
 * (`https://<team>/cdn-cgi/access/certs`), so the Worker fetches signing keys over real HTTP in
 * the workerd tests. Tests generate their RSA keys inside workerd and publish the public half:
 * - `PUT /jwks/<name>` with a JWKS body stores it;
 * - `GET /jwks/<name>` answers it (404 until published), counting requests;
 * - `GET /hits/<name>` answers `{ "hits": n }`, so a test can see the Worker's key cache at work.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JwksStandIn {
  /** Base URL; a key set lives at `${url}/jwks/<name>`. */
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const NAME = /^[A-Za-z0-9_-]{1,100}$/;

export async function startJwksStandIn(): Promise<JwksStandIn> {
  const sets = new Map<string, string>();
  const hits = new Map<string, number>();
  const server = createServer((request, response) => {
    handle(request, response, sets, hits).catch((error: unknown) => {
      send(response, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  sets: Map<string, string>,
  hits: Map<string, number>,
): Promise<void> {
  const [, kind, name] = (request.url ?? '').split('?')[0]?.split('/') ?? [];
  if (!name || !NAME.test(name) || (kind !== 'jwks' && kind !== 'hits'))
    return send(response, 404, { error: 'not found' });
  if (kind === 'hits' && request.method === 'GET') return send(response, 200, { hits: hits.get(name) ?? 0 });
  if (kind === 'jwks' && request.method === 'PUT') {
    const body = await readBody(request);
    JSON.parse(body);
    sets.set(name, body);
    return send(response, 204, null);
  }
  if (kind === 'jwks' && request.method === 'GET') {
    hits.set(name, (hits.get(name) ?? 0) + 1);
    const set = sets.get(name);
    if (set === undefined) return send(response, 404, { error: 'no key set published' });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(set);
    return;
  }
  send(response, 405, { error: 'method not allowed' });
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (body === null) {
    response.writeHead(status);
    response.end();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
