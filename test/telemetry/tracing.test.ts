// With an SDK registered, a REST request makes one server span named after its route, and each RM RPC made while
// answering it a child span carrying the message, sequence number and RM error, with an event per queue-full wait;
// log lines written meanwhile carry the trace id. (Without an SDK: tracing-off.test.ts, its own process.)
import assert from 'node:assert/strict';
import { after, beforeEach, test } from 'node:test';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import Fastify from 'fastify';
import { RM_ERROR, RM_MSG } from '../../core/abi/rm.js';
import { endRmRpcSpan, QUEUE_FULL_EVENT, rmRpcQueueFull, RM_SPAN_ATTR, startRmRpcSpan } from '../../core/trace.js';
import { HTTP_SPAN_ATTR, tracingPlugin } from '../../server/tracing/http-spans.js';
import { sdkRegistered, traceLogMixin, tracer } from '../../server/tracing/tracer.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
after(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

test('a registered SDK is recognised, so the HTTP plugin installs its hooks', () => {
  assert.equal(sdkRegistered(), true);
});

/** An RM round trip as the HLOS driver makes it: span, optional queue-full waits, reply. */
async function rmCall(msgId: number, seq: number, rmError: number | string, fullWaits = 0): Promise<void> {
  const span = startRmRpcSpan(msgId, seq);
  for (let i = 0; i < fullWaits; i++) {
    rmRpcQueueFull(span, 0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.resolve();
  endRmRpcSpan(span, rmError);
}

async function app() {
  const logs: Record<string, unknown>[] = [];
  const a = Fastify();
  await a.register(tracingPlugin);
  a.get('/v1/vms/:vmid', async () => {
    await rmCall(RM_MSG.VM_GET_STATE, 7, RM_ERROR.OK);
    logs.push(traceLogMixin() as Record<string, unknown>);
    return { ok: true };
  });
  a.post('/v1/vms/:vmid/start', async (request) => {
    await rmCall(RM_MSG.VM_GET_STATE, 8, RM_ERROR.OK, 2);
    await rmCall(RM_MSG.VM_START, 9, RM_ERROR.VM_STATE);
    return request.body;
  });
  a.get('/boom', async () => {
    throw new Error('boom');
  });
  return { a, logs };
}

test('a request makes one server span named after its route pattern, with method, route and status code', async () => {
  const { a } = await app();
  assert.equal((await a.inject('/v1/vms/128')).statusCode, 200);
  const server = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  assert.equal(server.length, 1);
  assert.equal(server[0]!.name, 'GET /v1/vms/:vmid');
  assert.equal(server[0]!.attributes[HTTP_SPAN_ATTR.METHOD], 'GET');
  assert.equal(server[0]!.attributes[HTTP_SPAN_ATTR.ROUTE], '/v1/vms/:vmid');
  assert.equal(server[0]!.attributes[HTTP_SPAN_ATTR.PATH], '/v1/vms/128');
  assert.equal(server[0]!.attributes[HTTP_SPAN_ATTR.STATUS], 200);
  assert.equal(server[0]!.status.code, SpanStatusCode.UNSET);
});

test('each RM RPC made while answering is a child span with message, sequence number and RM error', async () => {
  const { a } = await app();
  const res = await a.inject({ method: 'POST', url: '/v1/vms/128/start', payload: { why: 'test' } });
  assert.equal(res.statusCode, 200);
  const spans = exporter.getFinishedSpans();
  const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
  const rpcs = spans.filter((s) => s.kind === SpanKind.CLIENT);
  assert.deepEqual(rpcs.map((s) => s.name), ['gunyah_rm/VM_GET_STATE', 'gunyah_rm/VM_START']);
  for (const rpc of rpcs) {
    assert.equal(rpc.parentSpanContext?.spanId, server.spanContext().spanId, `${rpc.name} parent`);
    assert.equal(rpc.spanContext().traceId, server.spanContext().traceId);
    assert.equal(rpc.attributes[RM_SPAN_ATTR.SYSTEM], 'gunyah_rm');
  }
  const [getState, start] = rpcs as [typeof rpcs[0], typeof rpcs[0]];
  assert.equal(getState.attributes[RM_SPAN_ATTR.METHOD], 'VM_GET_STATE');
  assert.equal(getState.attributes[RM_SPAN_ATTR.MSG_ID], RM_MSG.VM_GET_STATE);
  assert.equal(getState.attributes[RM_SPAN_ATTR.SEQ], 8);
  assert.equal(getState.attributes[RM_SPAN_ATTR.ERROR], 'RM_OK');
  assert.equal(getState.status.code, SpanStatusCode.UNSET);
  assert.deepEqual(getState.events.map((e) => e.name), [QUEUE_FULL_EVENT, QUEUE_FULL_EVENT]);
  assert.equal(start.attributes[RM_SPAN_ATTR.SEQ], 9);
  assert.equal(start.attributes[RM_SPAN_ATTR.ERROR], 'RM_ERROR_VM_STATE');
  assert.equal(start.status.code, SpanStatusCode.ERROR);
  assert.equal(start.events.length, 0);
});

test('an RM RPC that got no reply records the failure reason and is an error', async () => {
  await rmCall(RM_MSG.VM_STOP, 1, 'timeout');
  const [span] = exporter.getFinishedSpans();
  assert.equal(span!.attributes[RM_SPAN_ATTR.FAILURE], 'timeout');
  assert.equal(span!.attributes[RM_SPAN_ATTR.ERROR], undefined);
  assert.equal(span!.status.code, SpanStatusCode.ERROR);
  assert.equal(span!.parentSpanContext, undefined, 'no request: a root span');
});

test('an incoming traceparent continues the caller\'s trace', async () => {
  const { a } = await app();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  await a.inject({ url: '/v1/vms/3', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
  const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
  assert.equal(server.spanContext().traceId, traceId);
  assert.equal(server.parentSpanContext?.spanId, '00f067aa0ba902b7');
});

test('a 500 marks the request span an error; an unmatched route is named UNKNOWN', async () => {
  const { a } = await app();
  assert.equal((await a.inject('/boom')).statusCode, 500);
  assert.equal((await a.inject('/nowhere')).statusCode, 404);
  const [boom, nowhere] = exporter.getFinishedSpans();
  assert.equal(boom!.name, 'GET /boom');
  assert.equal(boom!.status.code, SpanStatusCode.ERROR);
  assert.equal(nowhere!.name, 'GET UNKNOWN');
  assert.equal(nowhere!.attributes[HTTP_SPAN_ATTR.STATUS], 404);
  assert.equal(nowhere!.status.code, SpanStatusCode.UNSET, '4xx is the client\'s error, not the server span\'s');
});

test('log lines written inside a request carry its trace and span ids', async () => {
  const { a, logs } = await app();
  await a.inject('/v1/vms/128');
  const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
  assert.deepEqual(logs, [{ trace_id: server.spanContext().traceId, span_id: server.spanContext().spanId, trace_flags: '01' }]);
  assert.deepEqual(traceLogMixin(), {}, 'outside any span: no fields');
  tracer().startActiveSpan('work', (span) => {
    assert.equal(traceLogMixin().span_id, span.spanContext().spanId);
    span.end();
  });
});

test('on the real daemon app, creating a VM traces every RM RPC of the bring-up under the REST request', async () => {
  const { bootDevice } = await import('../../core/hlos/device.js');
  const { deviceServices } = await import('../../server/device-services.js');
  const { buildApp } = await import('../../server/app.js');
  const device = bootDevice({ seed: 3 });
  const services = deviceServices(device, { processMetrics: false });
  const real = await buildApp(services, { rateLimit: false });
  try {
    exporter.reset();
    const res = await real.inject({ method: 'POST', url: '/v1/vms', payload: { name: 'traced', image: 'idle', vcpus: 1 } });
    assert.equal(res.statusCode, 201);
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /v1/vms')!;
    const rpcs = spans.filter((s) => s.kind === SpanKind.CLIENT && s.spanContext().traceId === server.spanContext().traceId);
    const names = rpcs.map((s) => s.attributes[RM_SPAN_ATTR.METHOD]);
    // spec §9.7 (v6-v14): allocate, lend, configure the image, init, resources, start.
    for (const step of ['VM_ALLOCATE', 'MEM_LEND', 'VM_CONFIG_IMAGE', 'VM_INIT', 'VM_GET_HYP_RESOURCES', 'VM_START']) {
      assert.ok(names.includes(step), `${step} traced (${names.join(', ')})`);
    }
    for (const rpc of rpcs) assert.equal(rpc.attributes[RM_SPAN_ATTR.ERROR], 'RM_OK');
  } finally {
    await real.close();
    services.close();
    device.close();
  }
});
