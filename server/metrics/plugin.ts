// GET /metrics and the HTTP request counting hooks, as one Fastify plugin applied to the whole app (it does not
// encapsulate, so its hooks see every route, whenever registered).
//
// A request is timed from its onRequest hook (registered ahead of access control, so refused requests are timed
// too) and counted with its duration in onSend, as its answer is handed over: the status is final there. Counting
// in onResponse instead makes Fastify listen for each response's 'finish' and 'error' events, which cost 4% of a
// small read's server instructions (callgrind; bench/RESULTS.md). A streaming route (events, consoles) calls
// `streamOpened` as it hands its stream over, and the stream is counted then, once, without a duration.
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { CONTENT_TYPE, negotiateFormat } from './exposition.js';
import type { HttpStats } from './http-stats.js';
import type { MetricsRegistry } from './registry.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** When the request arrived (performance.now(), ms); UNTIMED before its onRequest hooks, COUNTED once counted. */
    httpArrival: number;
  }
}

/** A request that has not been through the onRequest hook: counted without a duration. */
const UNTIMED = -1;
/** A request already counted, as a stream or by a first onSend: never counted twice. */
const COUNTED = -2;

export interface MetricsPluginOptions {
  metrics: MetricsRegistry;
}

/** The statistics of each app the plugin is registered on. */
const statsOf = new WeakMap<object, HttpStats>();

/** Count a request once, with its duration when it is timed. */
function count(http: HttpStats, request: FastifyRequest, reply: FastifyReply, timed: boolean): void {
  const arrival = request.httpArrival;
  if (arrival === COUNTED) return;
  request.httpArrival = COUNTED;
  const seconds = timed && arrival !== UNTIMED ? (performance.now() - arrival) / 1000 : null;
  http.answered(request.method, request.routeOptions.url, reply.statusCode, seconds);
}

/** Count a request now, without a duration, in the statistics of the app that serves it (none: not counted). */
function countUntimed(request: FastifyRequest, reply: FastifyReply): void {
  // A plugin's Fastify instance inherits from its parent's (encapsulation is prototypal): the app is up the chain.
  for (let s: object | null = request.server; s !== null; s = Object.getPrototypeOf(s) as object | null) {
    const http = statsOf.get(s);
    if (http !== undefined) return count(http, request, reply, false);
  }
}

/** Count a streaming response as opened now: routes that answer with a stream call this as they send it. */
export const streamOpened = countUntimed;

/**
 * Count a request Fastify refused before routing (its `frameworkErrors`, a URL that does not decode): such a
 * request never reaches the app's hooks, so the handler of those errors counts it, under the route UNKNOWN.
 */
export const refusedBeforeRouting = countUntimed;

const metricsRoute: FastifyPluginCallback<MetricsPluginOptions> = (app, { metrics }, done) => {
  statsOf.set(app, metrics.http);
  app.decorateRequest('httpArrival', UNTIMED);
  app.addHook('onRequest', (request, _reply, next) => {
    request.httpArrival = performance.now();
    next();
  });
  app.addHook('onSend', (request, reply, _payload, next) => {
    count(metrics.http, request, reply, true);
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
