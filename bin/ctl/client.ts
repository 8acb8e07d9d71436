// The REST client gunyahctl's commands share: one request function over TCP or the daemon's Unix socket, the
// bearer token on every request, and API problems (RFC 9457, product brief "REST API") turned into errors that
// carry their `code`. Responses stream, so the same call serves JSON, raw bytes and server-sent events.
//
// node:http serves both transports (node:https for https URLs). Node 20's global fetch was the first choice for
// TCP, but its first use loads undici, about 0.2 s of CPU in every run: one GET of /v1/vms from a fresh process took
// 0.36-0.41 s with fetch against 0.12-0.14 s with node:http (5 runs each), and `gunyahctl vm ls` 576 ms over TCP
// with fetch against 284 ms over the Unix socket with node:http (medians of 9, in the same minute).
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions as HttpOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
  bytes?: Uint8Array;
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
    const body = opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json)) : opts.bytes;
    // A stated length: node:http would otherwise send a body-less POST chunked.
    const headers = { ...this.headersFor(opts), 'content-length': String(body?.byteLength ?? 0) };
    const options: HttpOptions = { method, headers, signal: opts.signal };
    return new Promise((resolve, reject) => {
      const answer = (res: IncomingMessage) => resolve(nodeResponse(res));
      let req: ClientRequest;
      if (this.endpoint.socket !== undefined) {
        req = httpRequest({ ...options, socketPath: this.endpoint.socket, path }, answer);
      } else {
        const url = new URL(path, this.endpoint.url);
        req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, answer);
      }
      req.once('error', (err) => reject(opts.signal?.aborted ? err : new ConnectError(this.target, causeOf(err))));
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

/** The system error's code (ECONNREFUSED, ENOENT, ...), else its message. */
function causeOf(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}
