// Starting and stopping the control plane for the daemon: TCP on 127.0.0.1 by default, optionally a Unix socket
// too (mode 0600; a stale socket file from a dead daemon is removed first). Beyond loopback the server refuses to
// start without a token, and every change then needs it.
import { chmodSync, lstatSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.js';
import type { Services } from './services.js';

export interface ServerOptions extends AppOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Also serve on this Unix socket path. */
  socket?: string;
}

export interface ServerHandle {
  readonly app: FastifyInstance;
  /** http://host:port of the TCP listener. */
  readonly url: string;
  readonly socket: string | null;
  /** Stop accepting, end open streams, remove the socket file, detach from the core. */
  close(): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Is something answering on this Unix socket? */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Remove a socket file no process listens on; refuse a live socket or any other kind of file. */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketAlive(path)) throw new Error(`${path} is in use by another server`);
  unlinkSync(path);
}

/** Listen on a Unix socket readable and writable by the owner only (no window with wider permissions). */
async function listenUnix(app: FastifyInstance, path: string): Promise<Server> {
  await clearStaleSocket(path);
  // The second listener hands its requests (and upgrades, for WebSockets) to the same Fastify router.
  const server = createServer((req, res) => app.server.emit('request', req, res));
  server.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  return server;
}

export async function startServer(services: Services, opts: ServerOptions = {}): Promise<ServerHandle> {
  const host = opts.host ?? DEFAULT_HOST;
  if (!isLoopback(host) && (opts.token === undefined || opts.token === '')) {
    throw new Error(`listening on ${host} (beyond loopback) needs a token: pass --token`);
  }
  const app = await buildApp(services, opts);
  let unix: Server | null = null;
  try {
    await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
    if (opts.socket !== undefined) unix = await listenUnix(app, opts.socket);
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    app,
    url,
    socket: opts.socket ?? null,
    async close() {
      // Stop accepting on both listeners; Fastify's close then ends the streams, and whatever is left on the
      // Unix listener after that is idle.
      const unixClosed = unix === null ? Promise.resolve() : new Promise<void>((resolve) => unix!.close(() => resolve()));
      await app.close();
      unix?.closeAllConnections();
      await unixClosed;
      if (opts.socket !== undefined) rmSync(opts.socket, { force: true });
    },
  };
}
