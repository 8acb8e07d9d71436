// Interactive consoles: a WebSocket per console (what `gunyahctl console` and the browser terminal use) and the
// browser terminal page itself (xterm.js, served from the installed package: the daemon works offline).
//
// WebSocket protocol, /v1/vms/{vmid}/console/ws[?history=N|?offset=O]:
//   server -> client  binary frames: console output bytes, in order
//                     text frames: JSON control messages
//                       {"type":"start","vmid":V,"offset":O}              first, the offset output starts at
//                       {"type":"lost","offset":O,"lost":N,"reason":R}    N bytes were skipped (see routes/console.ts)
//                       {"type":"error","code":C,"detail":D}              input was refused
//                       {"type":"end","offset":O,"reason":R,"status":S}   last, then a normal close (1000)
//   client -> server  every frame, text or binary: input bytes (VM_CONSOLE_WRITE, spec §10.1)
// When the daemon has a token, input needs it (Authorization: Bearer, or ?token= for browsers); output does not.
import websocket from '@fastify/websocket';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { ConsoleError, type ConsoleEvent, type ConsoleHub } from '../../core/hlos/console-hub.js';
import { consoleProblem, pumpConsole, startFrom, startQuery, subscribe, type ConsoleSink, type StartQuery } from '../console-io.js';
import { ApiError } from '../problem.js';
import { vmParams, type VmParams } from '../schemas/common.js';
import { operation, VM_STATE_NAMES } from '../schemas/operation.js';

export interface ConsoleWsOptions {
  hub: ConsoleHub;
  /** The daemon's bearer token: input needs it. */
  token?: string;
}

/** Output bytes queued in a WebSocket before the pump waits for it to flush. */
export const WS_HIGH_WATER = 256 * 1024;
/** Close codes (RFC 6455 §7.4.1). */
const CLOSE = { NORMAL: 1000, GOING_AWAY: 1001, INTERNAL: 1011 } as const;

const require = createRequire(import.meta.url);
const STATIC = new URL('../../../server/static/', import.meta.url);

/** The terminal page and the files it loads, read once. */
const ASSETS = {
  'xterm.js': { type: 'text/javascript; charset=utf-8', path: require.resolve('@xterm/xterm/lib/xterm.js') },
  'xterm.css': { type: 'text/css; charset=utf-8', path: require.resolve('@xterm/xterm/css/xterm.css') },
  'addon-fit.js': { type: 'text/javascript; charset=utf-8', path: require.resolve('@xterm/addon-fit/lib/addon-fit.js') },
  'terminal.js': { type: 'text/javascript; charset=utf-8', path: new URL('terminal.js', STATIC) },
} as const;
type AssetName = keyof typeof ASSETS;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export default async function consoleWsRoutes(app: FastifyInstance, opts: ConsoleWsOptions) {
  const { hub } = opts;
  const expected = opts.token === undefined ? null : digest(opts.token);
  const authorized = (header: string | undefined, query: string | undefined): boolean => {
    if (expected === null) return true;
    const presented = /^Bearer (\S+)$/.exec(header ?? '')?.[1] ?? query;
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
  const sockets = new Set<WebSocket>();
  app.addHook('preClose', async () => {
    for (const socket of sockets) socket.close(CLOSE.GOING_AWAY, 'daemon stopping');
  });
  await app.register(websocket);

  app.get<{ Params: VmParams; Querystring: StartQuery & { token?: string } }>('/v1/vms/:vmid/console/ws', {
    websocket: true,
    schema: operation({
      operationId: 'consoleWebSocket',
      tag: 'consoles',
      summary: 'Attach to a VM\'s console (WebSocket)',
      description: 'Upgrade to a WebSocket. Binary frames from the server carry output; text frames carry JSON control '
        + 'messages: `start` `{vmid, offset}` first, `lost` `{offset, lost, reason}`, `error` `{code, detail}` for '
        + 'refused input, and `end` `{offset, reason, status}` last, followed by a normal close. Every frame from the '
        + 'client (text or binary) is input. When the daemon has a token, input needs it (the Authorization header, '
        + 'or `token` in the query for browsers).',
      params: vmParams,
      querystring: {
        ...startQuery,
        properties: { ...startQuery.properties, token: { type: 'string', description: 'The daemon\'s token, for input from a browser.' } },
      },
      response: { 101: { description: 'Switching to the WebSocket protocol.', type: 'null' } },
      vmStates: VM_STATE_NAMES,
    }),
    // Refuse before the upgrade, with a problem: no console, or a start the hub would refuse.
    preHandler: async (request) => {
      const log = hub.log(request.params.vmid);
      if (log instanceof ConsoleError) throw consoleProblem(log);
      startFrom(request.query);
      const { offset } = request.query;
      if (offset !== undefined && offset > log.end) {
        throw ApiError.control('VALIDATION_FAILED', `offset ${offset} is past the end of the output (${log.end})`, { field: '/querystring/offset' });
      }
    },
  }, (socket, request) => {
    const vmid = request.params.vmid;
    const mayWrite = authorized(request.headers.authorization, request.query.token);
    let sub: ReturnType<typeof subscribe>;
    try {
      sub = subscribe(hub, vmid, startFrom(request.query));
    } catch (err) {
      // The VM went away between the check and the upgrade.
      socket.close(CLOSE.INTERNAL, err instanceof ApiError ? err.message.slice(0, 120) : 'console unavailable');
      return;
    }
    const { reader, holder } = sub;
    sockets.add(socket);
    socket.send(JSON.stringify({ type: 'start', vmid, offset: reader.offset }));
    const pump = pumpConsole(reader, wsSink(socket));
    holder.wake = pump.wake;
    socket.on('message', (data: RawData) => {
      if (!mayWrite) return sendError(socket, 'UNAUTHORIZED', 'input needs the daemon\'s token');
      void hub.write(vmid, toBuffer(data)).then((r) => {
        if (r instanceof ConsoleError) sendError(socket, consoleProblem(r).code, r.detail);
      });
    });
    socket.on('close', () => {
      sockets.delete(socket);
      pump.stop();
    });
  });

  app.get<{ Params: VmParams }>('/console/:vmid', {
    schema: { hide: true, params: vmParams },
  }, async (request, reply) => {
    const log = hub.log(request.params.vmid);
    if (log instanceof ConsoleError) throw consoleProblem(log);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(readFileSync(new URL('terminal.html', STATIC)));
  });

  const assets = new Map(Object.entries(ASSETS).map(([name, a]) => [name, { type: a.type, body: readFileSync(a.path) }]));
  app.get<{ Params: { name: AssetName } }>('/console/assets/:name', {
    schema: { hide: true, params: { type: 'object', properties: { name: { type: 'string', enum: Object.keys(ASSETS) } } } },
  }, async (request, reply) => {
    const asset = assets.get(request.params.name)!;
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
  });
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

function sendError(socket: WebSocket, code: string, detail: string): void {
  socket.send(JSON.stringify({ type: 'error', code, detail }));
}

const control = (e: Exclude<ConsoleEvent, { kind: 'data' }>): string =>
  e.kind === 'lost'
    ? JSON.stringify({ type: 'lost', offset: e.offset, lost: e.lost, reason: e.reason })
    : JSON.stringify({ type: 'end', offset: e.offset, reason: e.reason, status: e.status });

/** Output as binary frames; waits for the socket to flush once WS_HIGH_WATER bytes are queued. */
function wsSink(socket: WebSocket): ConsoleSink {
  let flushed = true;
  let resume: (() => void) | null = null;
  const onFlushed = () => {
    flushed = true;
    const r = resume;
    resume = null;
    r?.();
  };
  return {
    write(events) {
      if (socket.readyState !== socket.OPEN) return false;
      flushed = false;
      const last = events.length - 1;
      events.forEach((e, i) => {
        const frame = e.kind === 'data' ? e.bytes : control(e);
        // Frames go out in order: the last one's callback says the whole batch reached the socket.
        socket.send(frame, { binary: e.kind === 'data' }, i === last ? onFlushed : undefined);
      });
      return socket.bufferedAmount < WS_HIGH_WATER;
    },
    waitDrain(r) {
      if (flushed) setImmediate(r);
      else resume = r;
    },
    end: () => socket.close(CLOSE.NORMAL, 'console ended'),
  };
}
