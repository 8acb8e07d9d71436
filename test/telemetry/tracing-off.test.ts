// Without an SDK (no OTEL_* variables) tracing costs nothing and records nothing: spans are the API's
// non-recording ones, the HTTP plugin adds no hooks, the RM RPC helpers run without throwing, and log lines get
// no fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { RM_ERROR, RM_MSG } from '../../core/abi/rm.js';
import { endRmRpcSpan, rmRpcQueueFull, startRmRpcSpan } from '../../core/trace.js';
import { tracingPlugin } from '../../server/tracing/http-spans.js';
import { initTracingFromEnv } from '../../server/tracing/otel-sdk.js';
import { sdkRegistered, traceLogMixin, tracer } from '../../server/tracing/tracer.js';

test('with no OTEL_* variables initTracingFromEnv registers nothing and its shutdown is harmless', async () => {
  const shutdown = await initTracingFromEnv({ env: {} });
  assert.equal(sdkRegistered(), false);
  const span = tracer().startSpan('probe');
  assert.equal(span.isRecording(), false);
  span.end();
  await shutdown();
});

test('RM RPC spans without an SDK are non-recording and every helper is a no-op', () => {
  const span = startRmRpcSpan(RM_MSG.VM_GET_STATE, 1);
  assert.equal(span.isRecording(), false);
  rmRpcQueueFull(span, 0);
  endRmRpcSpan(span, RM_ERROR.OK);
  const failed = startRmRpcSpan(0x1234, 2);
  endRmRpcSpan(failed, 'timeout');
});

test('the tracing plugin stands aside: requests are answered normally and log lines carry no trace fields', async () => {
  const app = Fastify();
  await app.register(tracingPlugin);
  let logged: object | undefined;
  app.post('/v1/vms/:vmid/start', async (request) => {
    endRmRpcSpan(startRmRpcSpan(RM_MSG.VM_START, 3), RM_ERROR.OK);
    logged = traceLogMixin();
    return request.body;
  });
  const res = await app.inject({ method: 'POST', url: '/v1/vms/128/start', payload: { a: 1 } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { a: 1 });
  assert.deepEqual(logged, {});
  assert.equal((await app.inject('/nowhere')).statusCode, 404);
});
