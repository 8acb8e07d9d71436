// The REST client gunyahctl's commands share: one request function over TCP (Node's fetch) or a Unix socket
// (node:http with socketPath), the bearer token on every request, and API problems (RFC 9457, product brief
// "REST API") turned into errors that carry their `code`. Responses stream, so the same call serves JSON, raw
// bytes and server-sent events.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { ApiProblem, ConnectError } from './errors.js';

export interface Endpoint {
  /** http://host:port of the API; ignored when `socket` is set. */
  url: string;
  /** Unix socket path the daemon serves the API on (gunyahd --socket). */
  socket?: string;
  /** Bearer token (gunyahd --token). */
  token?: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** Raw bytes (sent as application/octet-stream). */
  bytes?: Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A response whose body has not been read yet. */
export interface ApiResponse {
  readonly status: number;
  header(name: string): string | undefined;
  /** The body as it arrives. */
  chunks(): AsyncIterable<Uint8Array>;
  bytes(): Promise<Buffer>;
}

const PROBLEM_TYPE = 'application/problem+json';

export class ApiClient {
  constructor(readonly endpoint: Endpoint) {}

  /** Where the client connects, for messages. */
  get target(): string {
    return this.endpoint.socket === undefined ? this.endpoint.url : `unix:${this.endpoint.socket}`;
  }

  /** A request whose non-2xx answers become ApiProblem errors; connection failures ConnectError. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const response = await this.send(method, pathWithQuery(path, opts.query), opts);
    if (response.status >= 200 && response.status < 300) return response;
    throw await problemOf(method, path, response);
  }

  /** A JSON request answering the parsed body (undefined for 204). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, opts);
    const body = await response.bytes();
    return (body.length === 0 ? undefined : JSON.parse(body.toString('utf8'))) as T;
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.json<T>('GET', path, opts);
  }

  private headersFor(opts: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = { accept: `application/json, ${PROBLEM_TYPE}`, ...opts.headers };
    if (this.endpoint.token !== undefined) headers.authorization = `Bearer ${this.endpoint.token}`;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    if (opts.bytes !== undefined) headers['content-type'] = 'application/octet-stream';
    return headers;
  }

  private send(method: string, path: string, opts: RequestOptions): Promise<ApiResponse> {
    const headers = this.headersFor(opts);
    const body = opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json)) : opts.bytes;
    return this.endpoint.socket === undefined
      ? this.overTcp(method, path, headers, body, opts.signal)
      : this.overUnix(this.endpoint.socket, method, path, headers, body, opts.signal);
  }

  private async overTcp(
    method: string, path: string, headers: Record<string, string>, body: Uint8Array<ArrayBuffer> | undefined, signal?: AbortSignal,
  ): Promise<ApiResponse> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.endpoint.url), { method, headers, body, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ConnectError(this.target, causeOf(err));
    }
    return {
      status: response.status,
      header: (name) => response.headers.get(name) ?? undefined,
      chunks: () => streamChunks(response.body),
      bytes: async () => Buffer.from(await response.arrayBuffer()),
    };
  }

  private overUnix(
    socketPath: string, method: string, path: string, headers: Record<string, string>, body: Uint8Array | undefined,
    signal?: AbortSignal,
  ): Promise<ApiResponse> {
    // A stated length, as fetch sends: node:http would otherwise send a body-less POST chunked.
    const sized = { ...headers, 'content-length': String(body?.byteLength ?? 0) };
    return new Promise((resolve, reject) => {
      const req = httpRequest({ socketPath, method, path, headers: sized, signal }, (res) => resolve(nodeResponse(res)));
      req.once('error', (err) => reject(signal?.aborted ? err : new ConnectError(this.target, causeOf(err))));
      req.end(body);
    });
  }
}

function nodeResponse(res: IncomingMessage): ApiResponse {
  return {
    status: res.statusCode ?? 0,
    header: (name) => {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    chunks: () => res,
    bytes: async () => {
      const parts: Buffer[] = [];
      for await (const part of res) parts.push(part as Buffer);
      return Buffer.concat(parts);
    },
  };
}

/** A fetch body as it arrives; leaving early cancels it (the connection closes). */
async function* streamChunks(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      yield next.value;
    }
    done = true;
  } finally {
    if (!done) await reader.cancel();
  }
}

function pathWithQuery(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

/** The problem document of an error answer, or one made up from the status when the body is not one. */
async function problemOf(method: string, path: string, response: ApiResponse): Promise<ApiProblem> {
  const text = (await response.bytes()).toString('utf8');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page, say): the status speaks alone.
  }
  const str = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
  return new ApiProblem(`${method} ${path}`, response.status, {
    code: str('code') ?? `HTTP_${response.status}`,
    title: str('title') ?? `HTTP ${response.status}`,
    detail: str('detail') ?? text.trim().slice(0, 200),
    field: str('field'),
    retryAfter: response.header('retry-after'),
  });
}

/** The system error under fetch's "fetch failed" (ECONNREFUSED, ENOENT, ...). */
function causeOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause !== undefined) e = e.cause;
  if (e instanceof Error) return (e as NodeJS.ErrnoException).code ?? e.message;
  return String(e);
}
