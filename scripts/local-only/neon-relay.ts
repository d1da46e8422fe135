/**
 * LOCAL DEVELOPMENT TOOLING — never part of the production bundle.
 *
 * A WebSocket-to-TCP relay that stands in for Neon's WebSocket proxy, so `@neondatabase/serverless`
 * (Pool/Client, drizzle's `neon-serverless`) reaches a plain local Postgres. Configure the driver with
 * `neonConfig.wsProxy = (host, port) => \`127.0.0.1:${relayPort}/v1?address=${host}:${port}\``,
 * `useSecureWebSocket = false`, `pipelineTLS = false`, `pipelineConnect = false`.
 */
import { createServer, type IncomingMessage, STATUS_CODES } from 'node:http';
import { connect, isIPv4, isIPv6, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { listen } from './http-support';

export interface NeonRelayOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the relay must not be reachable from other machines. */
  host?: string;
}

export interface NeonRelay {
  port: number;
  close(): Promise<void>;
}

/** Pause the Postgres socket while this much is queued towards the WebSocket peer. */
const HIGH_WATER_MARK = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;

export async function startNeonRelay(options: NeonRelayOptions = {}): Promise<NeonRelay> {
  const host = options.host ?? '127.0.0.1';
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const tcpSockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required on /v1\n');
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that vanishes mid-handshake must not take the process down.
    socket.on('error', () => socket.destroy());
    const target = parseTarget(req.url);
    if ('error' in target) {
      rejectUpgrade(socket, target.status, target.error);
      return;
    }
    const tcp = connect({ host: target.host, port: target.port });
    tcpSockets.add(tcp);
    tcp.on('close', () => tcpSockets.delete(tcp));
    tcp.setNoDelay(true);
    tcp.setTimeout(CONNECT_TIMEOUT_MS);
    const failConnect = (message: string) => {
      tcp.destroy();
      rejectUpgrade(socket, 502, `cannot reach ${target.host}:${target.port}: ${message}`);
    };
    tcp.once('timeout', () => failConnect('connect timed out'));
    tcp.once('error', (error: Error) => failConnect(error.message));
    let upgraded = false;
    // Otherwise a client gone before the handshake would leave Postgres waiting for a startup message.
    socket.once('close', () => {
      if (!upgraded) tcp.destroy();
    });
    // The handshake completes only once the TCP connection is up: the driver treats "open" as
    // "connected", and an unreachable database then surfaces as a failed upgrade (502), not a silent close.
    tcp.once('connect', () => {
      tcp.setTimeout(0);
      tcp.removeAllListeners('timeout');
      tcp.removeAllListeners('error');
      tcp.on('error', () => tcp.destroy());
      if (socket.destroyed) {
        tcp.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgraded = true;
        pipeSockets(ws, tcp);
      });
    });
  });

  await listen(server, options.port ?? 0, host, 'neon relay');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('neon relay: no TCP address');

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        for (const tcp of tcpSockets) tcp.destroy();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

type Target = { host: string; port: number } | { status: number; error: string };

function parseTarget(rawUrl: string | undefined): Target {
  const url = new URL(rawUrl ?? '/', 'http://relay.invalid');
  if (url.pathname !== '/v1') return { status: 404, error: `unknown path ${url.pathname}, expected /v1` };
  const address = url.searchParams.get('address');
  const match = address === null ? null : /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  if (match === null) return { status: 400, error: 'expected ?address=host:port' };
  const host = match[1]!;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return { status: 400, error: `invalid port ${match[2]}` };
  if (!isLoopback(host)) {
    return {
      status: 403,
      error: `refusing ${host}:${port}: this local-only relay forwards to loopback only`,
    };
  }
  return { host, port };
}

function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost') return true;
  if (isIPv4(lower)) return lower.startsWith('127.');
  if (isIPv6(lower)) {
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function pipeSockets(ws: WebSocket, tcp: Socket): void {
  let closed = false;
  const closeBoth = (code: number) => {
    if (closed) return;
    closed = true;
    tcp.destroy();
    if (ws.readyState === WebSocket.OPEN) ws.close(code);
    else ws.terminate();
  };

  ws.on('message', (data: RawData) => {
    if (!tcp.write(toBuffer(data))) ws.pause();
  });
  tcp.on('drain', () => ws.resume());

  tcp.on('data', (chunk: Buffer) => {
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER_MARK / 2) tcp.resume();
    });
    if (ws.bufferedAmount >= HIGH_WATER_MARK) tcp.pause();
  });

  ws.on('close', () => closeBoth(1000));
  ws.on('error', () => closeBoth(1011));
  tcp.on('end', () => closeBoth(1000));
  tcp.on('close', () => closeBoth(1000));
  tcp.on('error', () => closeBoth(1011));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
