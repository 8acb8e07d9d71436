// The Fastify plugin: GET /metrics answers in the format the scraper prefers, and every request of the app is
// counted by route pattern and status, once: timed from arrival to answer, except streams (counted when they open)
// and requests Fastify refuses before routing, which are counted without a duration.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { bootDevice } from '../../core/hlos/device.js';
import { CONTENT_TYPE, negotiateFormat } from '../../server/metrics/exposition.js';
import { metricsPlugin, streamOpened } from '../../server/metrics/plugin.js';
import { MetricsRegistry } from '../../server/metrics/registry.js';
import { hypFixture } from '../helpers/hyp-fixture.js';
import { restApp } from '../helpers/rest-app.js';
import { buildApp } from '../../server/app.js';
import { deviceServices } from '../../server/device-services.js';
import { parseExposition, samplesOf, valueOf } from './exposition-parser.js';
import { checkMetrics, have, PROMTOOL } from './tools.js';

/** What Prometheus 2.42 sends. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

async function app() {
  const metrics = new MetricsRegistry(hypFixture().hyp, { version: '0.1.0', processMetrics: false });
  const a = Fastify();
  a.get('/v1/vms/:vmid', async () => ({ vmid: 1 })); // registered before the plugin: still counted
  await a.register(metricsPlugin, { metrics });
  a.post('/v1/vms', async (_request, reply) => reply.code(201).send({ vmid: 128 }));
  a.get('/v1/events', async (request, reply) => {
    streamOpened(request, reply); // as the streaming routes do when they hand their stream over
    return reply.type('text/event-stream').send(Readable.from(['data: 1\n\n']));
  });
  a.get('/v1/vms/:vmid/console', (request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    streamOpened(request, reply);
    reply.raw.end('banner\n');
  });
  return { a, metrics };
}

test('the format follows the Accept header: OpenMetrics for Prometheus, the text format otherwise', () => {
  assert.equal(negotiateFormat(PROMETHEUS_ACCEPT), 'openmetrics');
  assert.equal(negotiateFormat('application/openmetrics-text'), 'openmetrics');
  assert.equal(negotiateFormat(undefined), 'prometheus');
  assert.equal(negotiateFormat('*/*'), 'prometheus');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=0.2, text/plain;q=0.9'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=0, */*'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=oops, text/plain'), 'prometheus');
});

test('GET /metrics serves OpenMetrics to Prometheus and the text format to curl', async () => {
  const { a } = await app();
  const om = await a.inject({ url: '/metrics', headers: { accept: PROMETHEUS_ACCEPT } });
  assert.equal(om.statusCode, 200);
  assert.equal(om.headers['content-type'], CONTENT_TYPE.openmetrics);
  assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.ok(om.body.endsWith('# EOF\n'));
  assert.equal(parseExposition(om.body, 'openmetrics').families.get('gunyah_hypercalls')?.type, 'counter');
  const text = await a.inject({ url: '/metrics', headers: { accept: '*/*' } });
  assert.equal(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.ok(!text.body.includes('# EOF'));
  assert.equal(parseExposition(text.body, 'prometheus').families.get('gunyah_hypercalls_total')?.type, 'counter');
});

test('requests are counted by method, route pattern and status, with a duration per method and route', async () => {
  const { a, metrics } = await app();
  for (const url of ['/v1/vms/3', '/v1/vms/128', '/nowhere']) await a.inject(url);
  await a.inject({ method: 'POST', url: '/v1/vms', payload: {} });
  const e = parseExposition(await metrics.render(), 'prometheus');
  const requests = (method: string, route: string, status: string) =>
    valueOf(e, 'gunyah_http_requests_total', { method, route, status });
  assert.equal(requests('GET', '/v1/vms/:vmid', '200'), 2);
  assert.equal(requests('POST', '/v1/vms', '201'), 1);
  assert.equal(requests('GET', 'UNKNOWN', '404'), 1);
  assert.equal(valueOf(e, 'gunyah_http_request_duration_seconds_count', { method: 'GET', route: '/v1/vms/:vmid' }), 2);
  const sum = valueOf(e, 'gunyah_http_request_duration_seconds_sum', { method: 'GET', route: '/v1/vms/:vmid' })!;
  assert.ok(sum > 0 && sum < 5, `${sum} s`);
});

test('a stream its route declares counts once when it opens and is never observed, sent as a Readable or hijacked', async () => {
  const { a, metrics } = await app();
  assert.equal((await a.inject('/v1/events')).body, 'data: 1\n\n');
  assert.equal((await a.inject('/v1/vms/3/console')).body, 'banner\n');
  const e = parseExposition(await metrics.render(), 'prometheus');
  assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'GET', route: '/v1/events', status: '200' }), 1);
  assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'GET', route: '/v1/vms/:vmid/console', status: '200' }), 1);
  const observed = samplesOf(e, 'gunyah_http_request_duration_seconds_count').map((s) => s.labels['route']);
  assert.ok(!observed.includes('/v1/events') && !observed.includes('/v1/vms/:vmid/console'), observed.join());
});

test('what GET /metrics returns passes promtool check metrics', async (t) => {
  if (!have(t, PROMTOOL)) return;
  const { a } = await app();
  await a.inject('/v1/vms/3');
  const { status, output } = checkMetrics((await a.inject('/metrics')).body);
  assert.equal(status, 0, output);
});

test('the daemon\'s event and console streams count once each when they open, with no duration', async () => {
  const device = bootDevice({ seed: 0x57 });
  const { app, close } = await restApp(device);
  try {
    const created = await app.inject({ method: 'POST', url: '/v1/vms', payload: { name: 'streams', image: 'idle', vcpus: 1 } });
    assert.equal(created.statusCode, 201, created.body);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    for (const path of ['/v1/events', `/v1/vms/${created.json<{ vmid: number }>().vmid}/console`]) {
      await new Promise<void>((resolve, reject) => {
        const req = get({ host: '127.0.0.1', port, path }, (res) => {
          assert.equal(res.statusCode, 200, path);
          req.destroy(); // the stream is open: the client goes away
          resolve();
        });
        req.on('error', reject);
      });
    }
    const e = parseExposition((await app.inject('/metrics')).body, 'prometheus');
    for (const route of ['/v1/events', '/v1/vms/:vmid/console']) {
      assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'GET', route, status: '200' }), 1, route);
      assert.equal(valueOf(e, 'gunyah_http_request_duration_seconds_count', { method: 'GET', route }), undefined, route);
    }
  } finally {
    await close();
    device.close();
  }
});

test('a URL that does not decode is refused before routing and still counted, under UNKNOWN, without a duration', async () => {
  const device = bootDevice({ seed: 0x58 });
  const { app, close } = await restApp(device);
  try {
    const refused = await app.inject('/v1/vms/%zz');
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json<{ code: string }>().code, 'MALFORMED_REQUEST');
    const e = parseExposition((await app.inject('/metrics')).body, 'prometheus');
    assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'GET', route: 'UNKNOWN', status: '400' }), 1);
    assert.equal(valueOf(e, 'gunyah_http_request_duration_seconds_count', { method: 'GET', route: 'UNKNOWN' }), undefined);
  } finally {
    await close();
    device.close();
  }
});

test('requests refused by the rate limiter and the token check are counted and timed like any other', async () => {
  const device = bootDevice({ seed: 0x59 });
  const services = deviceServices(device, { processMetrics: false });
  const app = await buildApp(services, { rateLimit: { max: 2, timeWindowMs: 60_000 }, token: 'sesame' });
  try {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/vms', payload: {} })).statusCode, 401);
    assert.equal((await app.inject('/v1/hypervisor')).statusCode, 200);
    assert.equal((await app.inject('/v1/hypervisor')).statusCode, 200);
    assert.equal((await app.inject('/v1/hypervisor')).statusCode, 429);
    const e = parseExposition(await services.metrics!.render(), 'prometheus');
    assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'POST', route: '/v1/vms', status: '401' }), 1);
    assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'GET', route: '/v1/hypervisor', status: '200' }), 2);
    assert.equal(valueOf(e, 'gunyah_http_requests_total', { method: 'GET', route: '/v1/hypervisor', status: '429' }), 1);
    assert.equal(valueOf(e, 'gunyah_http_request_duration_seconds_count', { method: 'POST', route: '/v1/vms' }), 1);
    assert.equal(valueOf(e, 'gunyah_http_request_duration_seconds_count', { method: 'GET', route: '/v1/hypervisor' }), 3);
  } finally {
    await app.close();
    services.close();
    device.close();
  }
});
