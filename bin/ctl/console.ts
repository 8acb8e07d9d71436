// gunyahctl console VM: a terminal attached to a VM's console over the daemon's WebSocket
// (/v1/vms/{vmid}/console/ws, protocol in server/routes/console-ws.ts), like `virsh console`: the terminal goes raw,
// what is typed goes to the VM, what the VM writes comes out, and the escape character (Ctrl-] by default) detaches.
// Works over TCP or the daemon's Unix socket; the VM is named by VMID or by name.
import WebSocket from 'ws';
import { ApiClient, type Endpoint } from './client.js';
import { Ctl } from './context.js';
import { ApiProblem, ConnectError } from './errors.js';

/** Ctrl-] (GS), virsh's escape character. */
export const DEFAULT_ESCAPE = 0x1d;
/** Output replayed on attach, so the prompt the VM printed before is on the screen. */
export const DEFAULT_HISTORY = 4096;

export interface ConsoleInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  off(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface AttachOptions {
  /** http://host:port of the daemon; ignored when `socketPath` is set. */
  baseUrl?: string;
  /** The daemon's Unix socket (gunyahd --socket). */
  socketPath?: string;
  /** Bearer token (gunyahd --token): input needs it when the daemon has one. */
  token?: string;
  /** A VMID, or a VM name (looked up in GET /v1/vms). */
  vmid: number | string;
  stdin: ConsoleInput;
  stdout: NodeJS.WritableStream;
  /** Where notices go (attach, lost bytes, detach); default `stdout`. */
  stderr?: NodeJS.WritableStream;
  /** The byte that detaches (default Ctrl-]); a one-character string is taken as its code. */
  escape?: number | string;
  /** Bytes of earlier output to show first (default DEFAULT_HISTORY). */
  history?: number;
}

export type AttachEnd =
  /** The user typed the escape character. */
  | { readonly reason: 'detached' }
  /** The console ended (the VM stopped, was deleted, closed its console, or the daemon stops). */
  | { readonly reason: 'ended'; readonly end: string; readonly status: string }
  /** The connection closed without an end message. */
  | { readonly reason: 'closed'; readonly detail: string };

interface ControlMessage {
  type: 'start' | 'lost' | 'end' | 'error';
  [key: string]: unknown;
}

/**
 * Attach until the user detaches, the console ends or the connection drops. The terminal is put back as it was in
 * every case. Refusals before the attach (no such VM, no console, cannot connect) reject with the CLI's errors.
 */
export async function attachConsole(opts: AttachOptions): Promise<AttachEnd> {
  const endpoint: Endpoint = { url: opts.baseUrl ?? 'http://127.0.0.1:8080', socket: opts.socketPath, token: opts.token };
  const vmid = typeof opts.vmid === 'number' ? opts.vmid : await new Ctl(new ApiClient(endpoint), false).vmid(opts.vmid);
  const escape = typeof opts.escape === 'string' ? opts.escape.charCodeAt(0) : (opts.escape ?? DEFAULT_ESCAPE);
  const notices = opts.stderr ?? opts.stdout;
  const { stdin, stdout } = opts;
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  // In raw mode the terminal does not turn \n into \r\n: notices carry their own.
  const notice = (text: string) => notices.write(`\r\n[${text}]\r\n`);

  const socket = await connect(endpoint, `/v1/vms/${vmid}/console/ws?history=${opts.history ?? DEFAULT_HISTORY}`);
  notices.write(`Connected to VM ${opts.vmid}${typeof opts.vmid === 'number' ? '' : ` (VMID ${vmid})`}. `
    + `Escape character is ${caret(escape)}\r\n`);
  if (raw) stdin.setRawMode!(true);

  return new Promise<AttachEnd>((resolve) => {
    let ending: AttachEnd | null = null;
    const onInput = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const at = bytes.indexOf(escape);
      const input = at < 0 ? bytes : bytes.subarray(0, at);
      if (input.length > 0 && socket.readyState === WebSocket.OPEN) socket.send(input);
      if (at >= 0) {
        ending = { reason: 'detached' };
        socket.close(1000, 'detached');
      }
    };
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) {
        stdout.write(data as Buffer);
        return;
      }
      const msg = JSON.parse(data.toString()) as ControlMessage;
      if (msg.type === 'lost') notice(`${msg.lost} bytes of output skipped: the terminal did not keep up`);
      else if (msg.type === 'error') notice(`input refused: ${msg.code}: ${msg.detail}`);
      else if (msg.type === 'end') ending = { reason: 'ended', end: String(msg.reason), status: String(msg.status) };
    });
    socket.on('close', (code: number, reason: Buffer) => {
      stdin.off('data', onInput);
      stdin.pause();
      if (raw) stdin.setRawMode!(false);
      const end = ending ?? { reason: 'closed' as const, detail: `connection closed (${code}${reason.length ? ` ${reason}` : ''})` };
      if (end.reason === 'ended') notice(`console ended: ${end.end} (${end.status})`);
      else if (end.reason === 'detached') notice('detached');
      else notice(end.detail);
      resolve(end);
    });
    socket.on('error', () => {}); // a 'close' follows every error
    stdin.on('data', onInput);
    stdin.resume();
    socket.resume();
  });
}

/** `^]` for 0x1d, as terminals name control characters. */
function caret(code: number): string {
  return code < 0x20 ? `^${String.fromCharCode(code + 0x40)}` : JSON.stringify(String.fromCharCode(code));
}

/** Open the WebSocket; a refusal (an HTTP answer instead of the upgrade) becomes the API's problem. */
function connect(endpoint: Endpoint, path: string): Promise<WebSocket> {
  const url = endpoint.socket === undefined
    ? new URL(path, endpoint.url.replace(/^http/, 'ws')).toString()
    : `ws+unix://${endpoint.socket}:${path}`;
  const headers = endpoint.token === undefined ? {} : { authorization: `Bearer ${endpoint.token}` };
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.pause(); // frames that come with the upgrade wait for attachConsole's listeners
      resolve(socket);
    });
    socket.once('unexpected-response', (_req, res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString();
        let problem: { code?: string; title?: string; detail?: string } = {};
        try {
          problem = JSON.parse(body) as typeof problem;
        } catch {
          // not a problem document: the status says it all
        }
        reject(new ApiProblem(`GET ${path}`, res.statusCode ?? 0, {
          code: problem.code ?? `HTTP_${res.statusCode}`, title: problem.title ?? '', detail: problem.detail ?? body,
        }));
        socket.terminate();
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConnectError(endpoint.socket === undefined ? endpoint.url : `unix:${endpoint.socket}`, err.code ?? err.message));
    });
  });
}
