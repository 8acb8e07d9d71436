// A span per REST request: named after the route pattern (`GET /v1/vms/:vmid`, OpenTelemetry's HTTP server
// convention), continuing the caller's trace when a `traceparent` header came in, active while the route runs so
// that RM RPCs made on its behalf become its children (core/trace.ts), and closed with the status code. A stream
// (Readable reply) closes its span when it opens. One Fastify plugin for the whole app. Without an SDK registered
// when the app is built (the daemon registers one first, when OTEL_* variables ask for it) it adds no hooks at
// all: a span would record nothing, and four hooks per request cost about 3 us (bench/RESULTS.md, REST).
import {
  context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span,
} from '@opentelemetry/api';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { sdkRegistered, tracer } from './tracer.js';

/** Attribute names of OpenTelemetry's HTTP semantic conventions. */
export const HTTP_SPAN_ATTR = {
  METHOD: 'http.request.method',
  ROUTE: 'http.route',
  STATUS: 'http.response.status_code',
  PATH: 'url.path',
} as const;
/** The route of a request no route matched. */
export const UNMATCHED_ROUTE = 'UNKNOWN';

interface RequestSpan {
  readonly span: Span;
  readonly ctx: Context;
}

const spans = new WeakMap<FastifyRequest, RequestSpan>();

function end(request: FastifyRequest, reply: FastifyReply): void {
  const entry = spans.get(request);
  if (entry === undefined) return;
  spans.delete(request);
  const { span } = entry;
  if (span.isRecording()) {
    span.setAttribute(HTTP_SPAN_ATTR.STATUS, reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

const isStream = (payload: unknown): boolean =>
  typeof payload === 'object' && payload !== null && typeof (payload as { pipe?: unknown }).pipe === 'function';

const httpSpans: FastifyPluginCallback = (app, _opts, done) => {
  if (!sdkRegistered()) return done();
  app.addHook('onRequest', (request, _reply, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const span = tracer().startSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER }, parent);
    // Without an SDK the span records nothing and carries no trace context for children to inherit: the request
    // skips the context and the later hooks find nothing to do.
    if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return next();
    if (span.isRecording()) {
      span.setAttribute(HTTP_SPAN_ATTR.METHOD, request.method);
      span.setAttribute(HTTP_SPAN_ATTR.ROUTE, route);
      span.setAttribute(HTTP_SPAN_ATTR.PATH, request.url.split('?', 1)[0]!);
    }
    const ctx = trace.setSpan(parent, span);
    spans.set(request, { span, ctx });
    context.with(ctx, next);
  });
  // The body arrives on socket events outside the request's context: enter it again just before the handler.
  app.addHook('preHandler', (request, _reply, next) => {
    const entry = spans.get(request);
    if (entry === undefined) next();
    else context.with(entry.ctx, next);
  });
  app.addHook('onSend', (request, reply, payload, next) => {
    if (isStream(payload)) end(request, reply);
    next();
  });
  app.addHook('onResponse', (request, reply, next) => {
    end(request, reply);
    next();
  });
  app.addHook('onRequestAbort', (request, next) => {
    const entry = spans.get(request);
    if (entry !== undefined) {
      spans.delete(request);
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
      entry.span.end();
    }
    next();
  });
  done();
};

/** `app.register(tracingPlugin)`: a span per request on every route of the app. */
export const tracingPlugin = Object.assign(httpSpans, { [Symbol.for('skip-override')]: true });
