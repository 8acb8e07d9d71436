// initTracingFromEnv follows the standard OTEL_* variables: nothing by default, OTLP/HTTP to the configured
// endpoint (spans really reach a collector, with the service name), console on request, none when disabled.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { tracingConfigFromEnv, initTracingFromEnv } from '../../server/tracing/otel-sdk.js';
import { tracer } from '../../server/tracing/tracer.js';

test('no variables, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none: no exporter', () => {
  assert.equal(tracingConfigFromEnv({}).exporter, 'none');
  assert.equal(tracingConfigFromEnv({ OTEL_SERVICE_NAME: 'x' }).exporter, 'none', 'a name alone asks for nothing');
  assert.equal(tracingConfigFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).exporter, 'none');
  assert.equal(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).exporter, 'none');
});

test('an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp selects OTLP with the standard endpoint rules', () => {
  assert.deepEqual(
    tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }),
    { exporter: 'otlp', endpoint: 'http://collector:4318/v1/traces', serviceName: 'gunyahd', resourceAttributes: {}, warnings: [] },
  );
  const specific = tracingConfigFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom/traces',
  });
  assert.equal(specific.endpoint, 'http://collector:4318/custom/traces', 'the traces endpoint is used as is');
  assert.equal(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' }).endpoint, 'http://localhost:4318/v1/traces');
});

test('the service name comes from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then gunyahd', () => {
  const attrs = 'service.name=from%20attrs,deployment.environment=lab';
  const both = tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'named', OTEL_RESOURCE_ATTRIBUTES: attrs });
  assert.equal(both.serviceName, 'named');
  const fromAttrs = tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_RESOURCE_ATTRIBUTES: attrs });
  assert.equal(fromAttrs.serviceName, 'from attrs');
  assert.deepEqual(fromAttrs.resourceAttributes, { 'service.name': 'from attrs', 'deployment.environment': 'lab' });
});

test('what cannot be honoured is reported, not silently dropped', () => {
  const grpc = tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'otlp,zipkin', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  assert.equal(grpc.exporter, 'otlp');
  assert.deepEqual(grpc.warnings, [
    'OTEL_TRACES_EXPORTER=zipkin is not supported (otlp, console, none)',
    'OTLP protocol grpc is not available: spans are sent as http/json',
  ]);
  assert.equal(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'console' }).exporter, 'console');
  assert.match(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_RESOURCE_ATTRIBUTES: 'bad' }).warnings[0]!, /ignored "bad"/);
});

test('with an OTLP endpoint, spans reach the collector as OTLP/HTTP JSON with the service name, flushed by shutdown', async () => {
  const bodies: { url: string; body: string }[] = [];
  const collector = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push({ url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  try {
    const port = (collector.address() as AddressInfo).port;
    const shutdown = await initTracingFromEnv({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'gunyahd-test' },
      version: '9.9.9',
    });
    const span = tracer().startSpan('exported-span');
    assert.equal(span.isRecording(), true);
    span.end();
    await shutdown();
    assert.equal(tracer().startSpan('after').isRecording(), false, 'shutdown unregisters the SDK');
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0]!.url, '/v1/traces');
    const sent = JSON.parse(bodies[0]!.body) as {
      resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { scope: { name: string }; spans: { name: string }[] }[] }[];
    };
    const resource = Object.fromEntries(sent.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    assert.equal(resource['service.name'], 'gunyahd-test');
    assert.equal(resource['service.version'], '9.9.9');
    assert.equal(sent.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'gunyah-emu');
    assert.deepEqual(sent.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name), ['exported-span']);
  } finally {
    collector.close();
  }
});
