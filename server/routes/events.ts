// GET /v1/events: the event hub (events.ts) as server-sent events. Each event carries its id, so a client that
// reconnects with Last-Event-ID gets what it missed from the hub's history; `types` filters; comment lines keep
// idle connections open. A slow reader never holds back the hub: past a buffer limit its events are dropped and
// it is told how many with an `events-lost` event.
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { HubEvent } from '../events.js';
import { streamOpened } from '../metrics/plugin.js';
import { ApiError } from '../problem.js';
import { operation } from '../schemas/operation.js';

export interface EventRouteOptions {
  /** Milliseconds between keep-alive comments on an idle stream. */
  heartbeatMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Bytes a stream may have waiting for a slow reader before events are dropped. */
export const MAX_BUFFERED_BYTES = 1 << 20;
/** The stream-control event that tells a client events were lost (not in the hub: it has no id). */
export const EVENTS_LOST = 'events-lost';

const frame = (e: HubEvent): string =>
  `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, type: e.type, time: e.time, ...e.data })}\n\n`;

const lostFrame = (lost: number): string => `event: ${EVENTS_LOST}\ndata: ${JSON.stringify({ type: EVENTS_LOST, lost })}\n\n`;

/** The last event of every stream when the daemon stops (no id: it is not in the hub and nothing follows it). */
export const EVENTS_SHUTDOWN = 'shutdown';
const SHUTDOWN_FRAME = `event: ${EVENTS_SHUTDOWN}\ndata: ${JSON.stringify({ type: EVENTS_SHUTDOWN, reason: 'daemon stopping' })}\n\n`;

export default async function eventRoutes(app: FastifyInstance, opts: EventRouteOptions) {
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;

  app.get<{ Querystring: { types?: string }; Headers: { 'last-event-id'?: number } }>('/v1/events', {
    schema: operation({
      operationId: 'streamEvents',
      tag: 'events',
      summary: 'Follow the event stream',
      description: 'Server-sent events (text/event-stream). Each event has an increasing `id`, its type as the SSE '
        + '`event` and a JSON object as `data` (id, type, time and the event\'s members). Types: '
        + `${app.events.types.join(', ')}. Reconnecting with Last-Event-ID replays the events after it from the last `
        + `${app.events.historySize}; events older than that, or dropped because the reader was too slow, are counted in `
        + `an \`${EVENTS_LOST}\` event. Idle streams carry a comment line every ${heartbeatMs / 1000} s.`,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          types: { type: 'string', pattern: '^[a-z-]+(,[a-z-]+)*$', description: 'Comma-separated event types to receive; all when absent.' },
        },
      },
      headers: {
        type: 'object',
        properties: { 'last-event-id': { type: 'integer', minimum: 0, description: 'Resume after this event id.' } },
      },
      response: {
        200: {
          description: 'The stream, open until the client closes it.',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
      },
    }),
  }, async (request, reply) => {
    const wanted = request.query.types?.split(',');
    const unknown = wanted?.filter((t) => !app.events.types.includes(t)) ?? [];
    if (unknown.length > 0) {
      throw ApiError.control('VALIDATION_FAILED', `unknown event type ${unknown.join(', ')}; known: ${app.events.types.join(', ')}`, {
        field: '/querystring/types',
      });
    }
    const filter = wanted === undefined ? null : new Set(wanted);
    const lastId = request.headers['last-event-id'] ?? null;

    const stream = new PassThrough();
    let dropped = lastId === null ? 0 : app.events.lostAfter(lastId);
    // Tell the reader what it lost as soon as it has caught up, even if no event follows.
    const reportLost = () => {
      if (dropped === 0) return;
      stream.write(lostFrame(dropped));
      dropped = 0;
    };
    const deliver = (e: HubEvent) => {
      if (filter !== null && !filter.has(e.type)) return;
      if (stream.writableLength > MAX_BUFFERED_BYTES) {
        if (dropped++ === 0) stream.once('drain', reportLost);
        return;
      }
      reportLost();
      stream.write(frame(e));
    };
    // A comment first: the client sees the response (and its headers) at once.
    stream.write(': gunyah-emu events\n\n');
    reportLost();
    const unsubscribe = app.events.subscribe(deliver, lastId);
    const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
    // The daemon is stopping: the client learns it from a last event rather than from a cut connection.
    const end = () => stream.end(SHUTDOWN_FRAME);
    app.closing.addEventListener('abort', end, { once: true });
    stream.once('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      app.closing.removeEventListener('abort', end);
    });
    streamOpened(request, reply);
    return reply
      .type('text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(stream);
  });
}
