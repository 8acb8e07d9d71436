// HTTP clients for the console tests: the daemon's app on a loopback port, a server-sent-events reader that
// decodes console events, and a raw chunked-stream reader, each on its own connection.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { RM_NOTIF } from '../../core/abi/rm.js';
import { CONSOLE_WRITE_MAX } from '../../core/hlos/rm-calls.js';
import { VmConsoleCharsNotification } from '../../core/rm/messages.js';
import { encodeMessage } from '../../core/rm/rpc-codec.js';
import { buildApp, type AppOptions } from '../../server/app.js';
import { consoleSystem, until, type ConsoleSystem } from './fixture.js';

export interface Served {
  readonly s: ConsoleSystem;
  readonly app: FastifyInstance;
  /** http://127.0.0.1:<port> */
  readonly base: string;
}

export async function serve(opts: Parameters<typeof consoleSystem>[0] = {}, appOpts: AppOptions = {}): Promise<Served> {
  const s = consoleSystem(opts);
  const app = await buildApp({ hyp: s.hyp, hlos: s.device.hlos, consoles: s.hub }, { rateLimit: false, ...appOpts });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { s, app, base: `http://127.0.0.1:${address.port}` };
}

export async function withServer(fn: (x: Served) => Promise<void>, opts: Parameters<typeof consoleSystem>[0] = {}, appOpts: AppOptions = {}) {
  const x = await serve(opts, appOpts);
  try {
    await fn(x);
  } finally {
    await x.app.close();
    x.s.close();
  }
}

let notificationSeq = 0;

/**
 * VM_CONSOLE_CHARS from `vmid` delivered straight to the HLOS driver, as the RM would send them (spec §10.1, one
 * notification per CONSOLE_WRITE_MAX bytes): for volumes a guest writing through the RM would take too long to make.
 */
export function deliverChars(s: ConsoleSystem, vmid: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; at += CONSOLE_WRITE_MAX) {
    const payload = VmConsoleCharsNotification.encode({ vmid, bytes: bytes.subarray(at, at + CONSOLE_WRITE_MAX) });
    assert.ok(payload instanceof Uint8Array);
    const packets = encodeMessage('notification', RM_NOTIF.VM_CONSOLE_CHARS, notificationSeq++ & 0xffff, payload);
    assert.ok(Array.isArray(packets));
    for (const p of packets) s.calls.client.deliver(p);
  }
}

/** A streaming GET on its own connection (no agent: closing it closes the connection). */
export function openStream(url: string, headers: Record<string, string> = {}): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => resolve({ req, res }));
    req.on('error', reject);
  });
}

export interface SseEvent {
  readonly id: string | null;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** A response body read as it arrives; `done` once it ended or the connection closed. */
abstract class StreamReader {
  done = false;
  private readonly reading: Promise<void>;

  constructor(readonly req: ClientRequest, readonly res: IncomingMessage) {
    this.reading = new Promise<void>((resolve) => {
      res.on('data', (chunk: Buffer) => this.chunk(chunk));
      res.on('close', resolve);
      res.on('error', () => {});
    }).finally(() => (this.done = true));
  }

  get status(): number {
    return this.res.statusCode!;
  }

  header(name: string): string | undefined {
    const v = this.res.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** Resolves once the response ended (the server finished it) or the connection closed. */
  async ended(): Promise<void> {
    await this.reading;
  }

  /** Go away: the connection is destroyed. */
  close(): void {
    this.req.destroy();
  }

  protected abstract chunk(chunk: Buffer): void;
}

/** An SSE response read event by event; `output()` is the output so far, decoded from base64. */
export class SseReader extends StreamReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private text = '';
  private readonly decoder = new TextDecoder();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const { req, res } = await openStream(url, { accept: 'text/event-stream', ...headers });
    return new SseReader(req, res);
  }

  /** Output bytes so far, decoded as the events arrived. */
  outputLength = 0;
  private readonly outputChunks: Buffer[] = [];

  output(): Buffer {
    return Buffer.concat(this.outputChunks);
  }

  get lastId(): string | null {
    return this.events.at(-1)?.id ?? null;
  }

  async waitFor(cond: (r: SseReader) => boolean, what: string, ms = 10_000): Promise<void> {
    await until(() => {
      if (cond(this)) return true;
      if (this.done) assert.fail(`the stream ended before ${what}`);
      return false;
    }, what, ms);
  }

  protected chunk(chunk: Buffer): void {
    this.text += this.decoder.decode(chunk, { stream: true });
    for (let cut = this.text.indexOf('\n\n'); cut >= 0; cut = this.text.indexOf('\n\n')) {
      this.frame(this.text.slice(0, cut));
      this.text = this.text.slice(cut + 2);
    }
  }

  private frame(block: string): void {
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) return;
    const e = { id, event, data: JSON.parse(data.join('\n')) as Record<string, unknown> };
    this.events.push(e);
    if (event !== 'output') return;
    const bytes = Buffer.from(e.data.data as string, 'base64');
    this.outputChunks.push(bytes);
    this.outputLength += bytes.length;
  }
}

/** A chunked text/plain stream: the bytes so far. */
export class RawReader extends StreamReader {
  readonly chunks: Buffer[] = [];

  static async open(url: string): Promise<RawReader> {
    const { req, res } = await openStream(url);
    return new RawReader(req, res);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  protected chunk(chunk: Buffer): void {
    this.chunks.push(chunk);
  }
}
