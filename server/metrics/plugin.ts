// GET /metrics and the HTTP request counting hooks, as one Fastify plugin applied to the whole app (it does not
// encapsulate, so its hooks see every route, whenever registered).
//
// Requests are counted when answered, with their duration; a streaming route (events, consoles) calls
// `streamOpened` as it hands its stream over, and the stream is counted then, once, without a duration. One hook
// per request: an onSend hook spotting streams by their payload cost every request more than the routes' one call.
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { CONTENT_TYPE, negotiateFormat } from './exposition.js';
import type { HttpStats } from './http-stats.js';
import type { MetricsRegistry } from './registry.js';

export interface MetricsPluginOptions {
  metrics: MetricsRegistry;
}

/** The statistics of each app the plugin is registered on. */
const statsOf = new WeakMap<object, HttpStats>();
/** Requests counted as streams when they opened: their end is not counted again. */
const streams = new WeakSet<FastifyRequest>();

/** Count a streaming response as opened now: routes that answer with a stream call this as they send it. */
export function streamOpened(request: FastifyRequest, reply: FastifyReply): void {
  if (streams.has(request)) return;
  // A plugin's Fastify instance inherits from its parent's (encapsulation is prototypal): the app is up the chain.
  for (let s: object | null = request.server; s !== null; s = Object.getPrototypeOf(s) as object | null) {
    const http = statsOf.get(s);
    if (http === undefined) continue;
    streams.add(request);
    http.answered(request.method, request.routeOptions.url, reply.statusCode, null);
    return;
  }
}

const metricsRoute: FastifyPluginCallback<MetricsPluginOptions> = (app, { metrics }, done) => {
  statsOf.set(app, metrics.http);
  // Every request not counted as a stream is counted here, with no per-request state until then.
  app.addHook('onResponse', (request, reply, next) => {
    if (!streams.delete(request)) metrics.http.answered(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    next();
  });

  app.get('/metrics', {
    schema: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description:
        'Every metric family of the telemetry catalogue, read from the emulator\'s counters when scraped: the ' +
        'Prometheus text format 0.0.4, or OpenMetrics 1.0.0 when the Accept header prefers application/openmetrics-text.',
      tags: ['telemetry'],
      response: {
        200: {
          description: 'The exposition.',
          content: {
            [CONTENT_TYPE.prometheus]: { schema: { type: 'string' } },
            [CONTENT_TYPE.openmetrics]: { schema: { type: 'string' } },
          },
        },
      },
    },
  }, async (request, reply) => {
    const format = negotiateFormat(request.headers.accept);
    const text = await metrics.render(format);
    return reply.type(CONTENT_TYPE[format]).send(text);
  });
  done();
};

/** `app.register(metricsPlugin, { metrics })`: GET /metrics and HTTP request counts for every route. */
export const metricsPlugin = Object.assign(metricsRoute, { [Symbol.for('skip-override')]: true });
