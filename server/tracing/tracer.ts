// The daemon's tracer and the small helpers around it: the same tracer as the core's (core/trace.ts), and the
// trace ids of the active span for log lines.
import { context, createContextKey, isSpanContextValid, ROOT_CONTEXT, trace } from '@opentelemetry/api';

export { tracer, TRACER_NAME } from '../../core/trace.js';

/** Log fields of the active span, the names of OpenTelemetry's log data model. */
export interface TraceLogFields {
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
}

const NONE: TraceLogFields = Object.freeze({});

/**
 * A pino `mixin`: every log line written while a span is active carries its trace and span ids, so logs and traces
 * join up (`pino({ mixin: traceLogMixin })`, or Fastify's `logger: { mixin: traceLogMixin }`). Without an SDK no
 * span is ever valid and lines stay as they are.
 */
export function traceLogMixin(): TraceLogFields {
  const span = trace.getSpan(context.active());
  if (span === undefined) return NONE;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return NONE;
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}`.slice(-2) };
}

const PROBE = createContextKey('gunyah-emu sdk probe');

/**
 * Is an OpenTelemetry SDK registered? The SDK's `register()` installs a context manager with its tracer provider;
 * the API alone has none, and its `context.with` runs the function in the root context. Without one, spans record
 * nothing and cannot carry a trace to the RM RPCs beneath a request.
 */
export function sdkRegistered(): boolean {
  return context.with(ROOT_CONTEXT.setValue(PROBE, true), () => context.active().getValue(PROBE) === true);
}
