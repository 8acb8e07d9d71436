// Consoles over HTTP (spec §10, product brief "Consoles over HTTP"): a VM's console output as a live stream
// (server-sent events, or chunked raw bytes for `curl -N`), its buffered log, and input. The console hub
// (core/hlos/console-hub.ts) does the work; these routes only translate. The WebSocket endpoint and the browser
// terminal are in console-ws.ts.
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ConsoleError, DEFAULT_CHUNK_BYTES, MAX_PENDING_INPUT, type ConsoleEvent } from '../../core/hlos/console-hub.js';
import { consoleProblem, pumpConsole, startFrom, startQuery, subscribe, type ConsoleSink, type StartQuery } from '../console-io.js';
import { streamOpened } from '../metrics/plugin.js';
import { ApiError } from '../problem.js';
import { vmParams, type VmParams } from '../schemas/common.js';
import { operation, VM_STATE_NAMES, type VmStateName } from '../schemas/operation.js';
import consoleWsRoutes from './console-ws.js';

export interface ConsoleRouteOptions {
  /** Milliseconds between keep-alive comments on an idle event stream. */
  heartbeatMs?: number;
  /** The daemon's bearer token: WebSocket input needs it (the access plugin guards the other changes). */
  token?: string;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
/**
 * States in which typed input can reach the guest (spec §9.5): its vCPUs run, or are paused and find the
 * VM_CONSOLE_CHARS queued when they resume. Output and the log are there in every state, from VM_ALLOCATE on.
 */
export const INPUT_STATES: readonly VmStateName[] = ['running', 'paused'];
const BASE64 = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

/**
 * One SSE event per hub event. The id is the offset to resume from: after an output event, the offset just past its
 * bytes, so Last-Event-ID resumes with neither loss nor repetition. Output is base64 (UTF-8 characters and binary
 * both survive any cut between events); each event also carries its starting offset.
 */
export function sseFrame(e: ConsoleEvent): string {
  switch (e.kind) {
    case 'data':
      return `id: ${e.offset + e.bytes.length}\nevent: output\ndata: {"offset":${e.offset},"size":${e.bytes.length},`
        + `"encoding":"base64","data":"${e.bytes.toString('base64')}"}\n\n`;
    case 'lost':
      return `id: ${e.offset}\nevent: lost\ndata: ${JSON.stringify({ offset: e.offset, lost: e.lost, reason: e.reason })}\n\n`;
    case 'end':
      return `id: ${e.offset}\nevent: end\ndata: ${JSON.stringify({ offset: e.offset, reason: e.reason, status: e.status })}\n\n`;
  }
}

const wantsEventStream = (accept: string | undefined): boolean => accept?.includes('text/event-stream') ?? false;

const STREAM_DESCRIPTION = `The VM's console output, live, from now or from \`history\` bytes back or from \`offset\`.

With \`Accept: text/event-stream\`: server-sent events. \`output\` events carry \`{offset, size, encoding: "base64", data}\`
(base64, so neither a UTF-8 character cut between two events nor binary output is mangled); \`lost\` events
\`{offset, lost, reason}\` say how many bytes this reader missed (\`overwritten\`: it fell behind the log,
\`cleared\`: the log was cleared, \`not-buffered\`: it asked for bytes the log no longer holds); the stream ends with an
\`end\` event \`{offset, reason, status}\` when the VM stops (\`vm-stopped\`), is deleted (\`vm-deleted\`), closes its
console (\`console-closed\`) or the daemon stops (\`shutdown\`). Every event's \`id\` is the byte offset at which to
resume, so a reconnection with \`Last-Event-ID\` continues exactly where it left off while the log still holds the
bytes; a reconnection to a console that has ended with nothing new answers 204, which stops EventSource retrying.
Idle streams carry a comment line every few seconds.

Otherwise: the raw bytes, chunked (\`curl -N\`). \`X-Console-Offset\` gives the starting offset; the trailers
\`X-Console-Lost\` (bytes missed) and \`X-Console-End\` (why it ended) come at the end.

A reader that does not keep up never slows the VM or the other readers: it loses the oldest bytes instead.`;

export default async function consoleRoutes(app: FastifyInstance, opts: ConsoleRouteOptions) {
  const hub = app.services.consoles;
  if (hub === undefined) return;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  /** Open streams: each ends itself with a `shutdown` end when the server closes. */
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<{ Params: VmParams; Querystring: StartQuery; Headers: { 'last-event-id'?: number } }>('/v1/vms/:vmid/console', {
    schema: operation({
      operationId: 'streamConsole',
      tag: 'consoles',
      summary: 'Follow a VM\'s console output',
      description: STREAM_DESCRIPTION,
      params: vmParams,
      querystring: startQuery,
      headers: {
        type: 'object',
        properties: { 'last-event-id': { type: 'integer', minimum: 0, description: 'Server-sent events: resume at this byte offset.' } },
      },
      response: {
        200: {
          description: 'The stream, open until the console ends or the client closes it.',
          headers: { 'X-Console-Offset': { type: 'integer', description: 'The byte offset the stream starts at.' } },
          content: { 'text/event-stream': { schema: { type: 'string' } }, 'text/plain': { schema: { type: 'string' } } },
        },
        204: { description: 'An event-stream reconnection to a console that has ended, with nothing after Last-Event-ID.', type: 'null' },
      },
      vmStates: VM_STATE_NAMES,
    }),
  }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id'];
    const start = startFrom(request.query, lastEventId);
    const { reader, holder } = subscribe(hub, request.params.vmid, start, lastEventId !== undefined ? '/headers/last-event-id' : undefined);
    if (lastEventId !== undefined && reader.atEnd) {
      reader.close();
      return reply.code(204).send();
    }
    const sse = wantsEventStream(request.headers.accept);
    const stream = new PassThrough({ highWaterMark: DEFAULT_CHUNK_BYTES });
    const sink = sse ? sseSink(stream) : plainSink(stream, reply);
    const pump = pumpConsole(reader, sink);
    holder.wake = pump.wake;
    const heartbeat = sse ? setInterval(() => stream.write(': keep-alive\n\n'), heartbeatMs) : null;
    const shutdown = () => {
      pump.stop();
      sink.write([{ kind: 'end', offset: reader.offset, reason: 'shutdown', status: 'daemon stopping' }]);
      sink.end();
    };
    open.add(shutdown);
    stream.once('close', () => {
      open.delete(shutdown);
      pump.stop();
      if (heartbeat !== null) clearInterval(heartbeat);
    });
    // The response's headers go out at once, before any output, so a client knows the stream is open.
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    if (sse) stream.write(`: console of VM ${request.params.vmid}\n\n`);
    streamOpened(request, reply);
    return reply
      .type(sse ? 'text/event-stream; charset=utf-8' : 'text/plain')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .header('x-console-offset', String(reader.offset))
      .send(stream);
  });

  app.register(async (input) => {
    // Raw input in this scope only (the API elsewhere takes JSON): the bytes as they are.
    input.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: MAX_PENDING_INPUT },
      (_request, body, done) => done(null, body));

    input.post<{ Params: VmParams; Body: Buffer | { data: string; encoding: 'utf8' | 'base64' } }>('/v1/vms/:vmid/console', {
      schema: operation({
        operationId: 'writeConsole',
        tag: 'consoles',
        summary: 'Type into a VM\'s console',
        description: 'The bytes go to the VM as VM_CONSOLE_WRITE from the HLOS (spec §10.1), in chunks of the RM\'s '
          + 'largest message, in the order they were sent. The body is JSON `{data, encoding}` (`utf8` or `base64`), '
          + `or the raw bytes as text/plain or application/octet-stream (up to ${MAX_PENDING_INPUT} bytes). `
          + 'Answers once the RM accepted every chunk; 503 CONSOLE_INPUT_BUSY while too much input already waits. '
          + 'The RM\'s own refusals keep their names (RM_ERROR_DENIED when an end of the console is closed).',
        change: true,
        params: vmParams,
        body: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['data'],
                additionalProperties: false,
                properties: {
                  data: { type: 'string', minLength: 1, description: 'The input: UTF-8 text, or bytes in base64.' },
                  encoding: { type: 'string', enum: ['utf8', 'base64'], default: 'utf8', description: 'How `data` is encoded.' },
                },
                if: { required: ['encoding'], properties: { encoding: { const: 'base64' } } },
                then: { properties: { data: { type: 'string', pattern: BASE64 } } },
              },
            },
            'text/plain': { schema: { description: 'The input bytes.' } },
            'application/octet-stream': { schema: { description: 'The input bytes.' } },
          },
        },
        response: {
          200: {
            description: 'The RM accepted the input.',
            type: 'object',
            required: ['size'],
            properties: { size: { type: 'integer', description: 'Bytes written.' } },
          },
        },
        vmStates: INPUT_STATES,
        problems: [503],
      }),
    }, async (request) => {
      const body = request.body;
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');
      if (bytes.length === 0) throw ApiError.control('VALIDATION_FAILED', 'the input is empty', { field: '/body' });
      const written = await hub.write(request.params.vmid, bytes);
      if (written instanceof ConsoleError) throw consoleProblem(written);
      return { size: written };
    });
  });

  app.get<{ Params: VmParams }>('/v1/vms/:vmid/console/log', {
    schema: operation({
      operationId: 'getConsoleLog',
      tag: 'consoles',
      summary: 'Read a VM\'s console log',
      description: 'The output bytes the daemon still holds for the VM (the newest, up to the log\'s size), raw. '
        + '`X-Console-Start` and `X-Console-End` give their absolute offsets: a stream started at `?offset=<end>` '
        + 'continues exactly after them.',
      params: vmParams,
      response: {
        200: {
          description: 'The buffered output.',
          headers: {
            'X-Console-Start': { type: 'integer', description: 'Offset of the first byte.' },
            'X-Console-End': { type: 'integer', description: 'Offset one past the last byte: all output so far.' },
          },
          content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
        },
      },
      vmStates: VM_STATE_NAMES,
    }),
  }, async (request, reply) => {
    const log = hub.log(request.params.vmid);
    if (log instanceof ConsoleError) throw consoleProblem(log);
    return logHeaders(reply, log).type('application/octet-stream').send(log.bytes);
  });

  app.delete<{ Params: VmParams }>('/v1/vms/:vmid/console/log', {
    schema: operation({
      operationId: 'clearConsoleLog',
      tag: 'consoles',
      summary: 'Clear a VM\'s console log',
      description: 'Forget the buffered output. Offsets carry on (the next byte keeps its offset); readers that had not '
        + 'read the cleared bytes get a `lost` event with reason `cleared`.',
      change: true,
      params: vmParams,
      response: {
        200: {
          description: 'The log is empty.',
          type: 'object',
          required: ['start', 'end'],
          properties: {
            start: { type: 'integer', description: 'Offset where the log now starts.' },
            end: { type: 'integer', description: 'Offset one past the last byte: all output so far.' },
          },
        },
      },
      vmStates: VM_STATE_NAMES,
    }),
  }, async (request, reply) => {
    const log = hub.clear(request.params.vmid);
    if (log instanceof ConsoleError) throw consoleProblem(log);
    return logHeaders(reply, log).send({ start: log.start, end: log.end });
  });

  await app.register(consoleWsRoutes, { hub, token: opts.token });
}

function logHeaders(reply: FastifyReply, log: { start: number; end: number }): FastifyReply {
  return reply.header('x-console-start', String(log.start)).header('x-console-end', String(log.end));
}

function sseSink(stream: PassThrough): ConsoleSink {
  return {
    write: (events) => stream.write(events.map(sseFrame).join('')),
    waitDrain: (resume) => stream.once('drain', resume),
    end: () => stream.end(),
  };
}

/** Raw bytes; losses and the end reason go in trailers (raw output has no room for them). */
function plainSink(stream: PassThrough, reply: FastifyReply): ConsoleSink {
  let lost = 0;
  let ended = 'client-closed';
  reply.trailer('x-console-lost', async () => String(lost));
  reply.trailer('x-console-end', async () => ended);
  return {
    write(events) {
      const out: Buffer[] = [];
      for (const e of events) {
        if (e.kind === 'data') out.push(e.bytes);
        else if (e.kind === 'lost') lost += e.lost;
        else ended = `${e.reason}; status=${e.status}`;
      }
      if (out.length === 0) return true;
      return stream.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    },
    waitDrain: (resume) => stream.once('drain', resume),
    end: () => stream.end(),
  };
}

