// Tracing hooks of the core, on @opentelemetry/api alone: without an SDK registered (the daemon registers one only
// when OTEL_* variables ask for it) a span is a shared non-recording object and costs about 12 ns, so the RM RPC path
// may open one per call. With an SDK, a call's span is a child of the span active where the call was made (the
// REST request's), so a trace runs from the HTTP request through each RM RPC.
import { SpanKind, SpanStatusCode, trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { rmErrorName, rmMessageName, RM_ERROR } from './abi/rm.js';

export const TRACER_NAME = 'gunyah-emu';

let provider: TracerProvider | null = null;
let current: Tracer | null = null;

/**
 * The emulator's tracer (`trace.getTracer('gunyah-emu')`), fetched again whenever the global provider changes: a
 * tracer kept from before would still feed an SDK that was shut down and unregistered.
 */
export function tracer(): Tracer {
  const global = trace.getTracerProvider();
  if (global !== provider || current === null) {
    provider = global;
    current = global.getTracer(TRACER_NAME);
  }
  return current;
}

/** Span attribute names (OpenTelemetry RPC conventions where they exist, `gunyah.rm.*` for the rest). */
export const RM_SPAN_ATTR = {
  SYSTEM: 'rpc.system',
  METHOD: 'rpc.method',
  MSG_ID: 'gunyah.rm.msg_id',
  SEQ: 'gunyah.rm.seq',
  /** `RM_OK` or `RM_ERROR_<NAME>` (spec §3.3) when the RM replied. */
  ERROR: 'gunyah.rm.error',
  /** Why no usable reply came (timeout, aborted, transport, bad_reply, refused, closed). */
  FAILURE: 'gunyah.rm.failure',
} as const;
export const RM_RPC_SYSTEM = 'gunyah_rm';
/** The event added each time a request fragment found the RM queue full and the call waited for TX space (spec §4.3). */
export const QUEUE_FULL_EVENT = 'msgqueue_full';

/** Open the span of one RM RPC (spec §9.2): named `gunyah_rm/<MESSAGE>`, a child of the active span. */
export function startRmRpcSpan(msgId: number, seq: number): Span {
  const message = rmMessageName(msgId);
  const span = tracer().startSpan(`${RM_RPC_SYSTEM}/${message}`, { kind: SpanKind.CLIENT });
  if (span.isRecording()) {
    span.setAttribute(RM_SPAN_ATTR.SYSTEM, RM_RPC_SYSTEM);
    span.setAttribute(RM_SPAN_ATTR.METHOD, message);
    span.setAttribute(RM_SPAN_ATTR.MSG_ID, msgId >>> 0);
    span.setAttribute(RM_SPAN_ATTR.SEQ, seq);
  }
  return span;
}

/** A request fragment found the queue full (MSGQUEUE_FULL); the call now waits for the TX-ready vIRQ and retries. */
export function rmRpcQueueFull(span: Span, fragment: number): void {
  if (span.isRecording()) span.addEvent(QUEUE_FULL_EVENT, { 'gunyah.rm.fragment': fragment });
}

/**
 * Close an RM RPC span: `outcome` is the reply's RM error word (a number, RM_ERROR.OK for success) or, when no
 * usable reply came, the failure reason (`timeout`, `closed`, ...). Anything but RM_OK marks the span an error.
 */
export function endRmRpcSpan(span: Span, outcome: number | string): void {
  if (span.isRecording()) {
    if (typeof outcome === 'number') {
      span.setAttribute(RM_SPAN_ATTR.ERROR, rmErrorName(outcome));
      if (outcome >>> 0 !== RM_ERROR.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: rmErrorName(outcome) });
    } else {
      span.setAttribute(RM_SPAN_ATTR.FAILURE, outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    }
  }
  span.end();
}
