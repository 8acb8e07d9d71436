// Hostile REST requests (issue 8, item 2) against the real app built from a booted device with every service the
// daemon serves (server/device-services.ts): for every operation of the OpenAPI document, bodies that follow the
// route's schema and bodies that break it, malformed JSON, bodies over the limit, path parameters naming real and
// unknown VMs, capabilities and addresses or random segments, random query strings and headers; and requests to
// random paths with random methods. Every answer is below 500 (or 501/503 with a reason), and every error is an
// application/problem+json document whose code and status match. After every case the API answers
// GET /v1/hypervisor and the device's invariants hold. Streaming routes (events, console output) are left to the
// fault tests: a stream that opens does not end by itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { InjectOptions } from 'light-my-request';
import { VMID } from '../../core/abi/vmid.js';
import { JSON_BODY_LIMIT } from '../../server/app.js';
import { hex64 } from '../../server/hex.js';
import { restApp, type RestApp } from '../helpers/rest-app.js';
import { fuzzParams, FUZZ_SEED } from './fuzz-config.js';
import { fuzzDevice, type FuzzDevice } from './fuzz-device.js';
import { invalid, resolverFor, valid, type Schema } from './schema-arbitrary.js';

let dev: FuzzDevice;
let rest: RestApp;
let app: FastifyInstance;
before(async () => {
  dev = await fuzzDevice(FUZZ_SEED);
  rest = await restApp(dev.device);
  app = rest.app;
});
after(async () => {
  await rest.close();
  dev.close();
});

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly params: { name: string; in: string; schema: Schema }[];
  readonly body: Record<string, { schema: Schema }> | undefined;
}

/** Fuzz cases may create VMs; beyond this many the newest are deleted again so each case stays quick. */
const MAX_VMS = 8;

test('random requests to every route: never a 500, every error a problem document, the API and device intact', async (t) => {
  const doc = app.swagger() as { paths: Record<string, Record<string, { parameters?: Operation['params']; requestBody?: { content: Operation['body'] }; responses?: Record<string, { content?: Record<string, unknown> }> }>>; components?: { schemas?: Record<string, Schema> } };
  const resolve = resolverFor(doc);
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (Object.keys(op.responses?.['200']?.content ?? {}).includes('text/event-stream')) continue;
      operations.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], body: op.requestBody?.content });
    }
  }
  assert.ok(operations.length >= 25, `${operations.length} operations`);

  const hyp = dev.device.hyp;
  const known = [VMID.HLOS, VMID.RM, dev.vmids.prey, dev.vmids.echo, dev.vmids.load];
  const capids = known.flatMap((vmid) => [...hyp.vms.get(vmid)!.cspace.caps()].map((c) => hex64(c.cspace.capid(c.slot))));
  const memory = dev.device.hlos.vms.get(dev.vmids.prey)!.memory!;
  const segment = fc.oneof(
    fc.string({ maxLength: 12 }), fc.constantFrom('..', '.', '%2e%2e', '-1', '0x', '00003', '1e3', ' ', '%00', '%ff'),
    fc.bigInt({ min: 0n, max: 1n << 70n }).map(String),
  ).map((s) => (/%[0-9a-f]{2}/i.test(s) ? s : encodeURIComponent(s)));
  const pathValue = (name: string): fc.Arbitrary<string> => {
    const real = name === 'vmid' ? fc.constantFrom(...known.map(String))
      : name === 'capid' ? fc.constantFrom(...capids)
        : name === 'ipa' ? fc.integer({ min: memory.base - 0x1000, max: memory.base + memory.size }).map((a) => `0x${a.toString(16)}`)
          : fc.constantFrom('type', 'version/api', 'gunyah/vms', `gunyah/vms/${dev.vmids.prey}/control`, 'gunyah/msgqueues', 'gunyah/doorbells/1/send', 'a/../type');
    return fc.oneof({ weight: 4, arbitrary: real }, { weight: 1, arbitrary: segment });
  };
  const queryValue = (name: string, schema: Schema) =>
    // A blocking receive waits at most a few milliseconds here (the schema allows 30 s).
    name === 'timeout_ms' ? fc.oneof(fc.integer({ min: 0, max: 5 }).map(String), fc.constantFrom('-1', '30001', 'x', '1.5'))
      : fc.oneof(valid(schema, resolve).map(String), segment);
  const header = fc.dictionary(fc.constantFrom('accept', 'x-forwarded-for', 'last-event-id', 'authorization', 'x-random', 'content-encoding', 'transfer-encoding-x'),
    fc.oneof(fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.constantFrom('*/*', 'application/json', 'text/event-stream', 'Bearer x', '-1', 'gzip')), { maxKeys: 2 });
  const jsonBody = (schema: Schema) => fc.oneof(
    { weight: 5, arbitrary: valid(schema, resolve).map((v) => ({ type: 'application/json', payload: JSON.stringify(v) })) },
    { weight: 3, arbitrary: invalid(schema, resolve).map((v) => ({ type: 'application/json', payload: JSON.stringify(v) ?? 'null' })) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', '[1,]', 'nul', '"\\u12"', '\u0000', '{"name":"x"}}').map((payload) => ({ type: 'application/json', payload })) },
    { weight: 1, arbitrary: fc.constant({ type: 'application/json', payload: `{"data":"${'a'.repeat(JSON_BODY_LIMIT)}"}` }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/json; charset=latin1', ''), fc.string({ maxLength: 30 })).map(([type, payload]) => ({ type, payload })) },
  );
  const rawBody = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array(2 * 1024 * 1024))).map((b) => ({ type: 'application/octet-stream', payload: Buffer.from(b) as string | Buffer }));

  const routed = fc.constantFrom(...operations).chain((op) => {
    const path = fc.record(Object.fromEntries(op.params.filter((p) => p.in === 'path').map((p) => [p.name, pathValue(p.name)])));
    const query = fc.record(Object.fromEntries(op.params.filter((p) => p.in === 'query').map((p) => [p.name, queryValue(p.name, p.schema)])), { requiredKeys: [] });
    const content = op.body ?? {};
    const body = content['application/json'] ? jsonBody(content['application/json'].schema)
      : content['application/octet-stream'] ? rawBody : fc.constant(undefined);
    return fc.record({ path, query, header, body, extraQuery: fc.option(fc.tuple(segment, segment), { freq: 5 }) }).map((r): InjectOptions => {
      const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => r.path[name] ?? 'x');
      const qs = [new URLSearchParams(r.query as Record<string, string>).toString(), r.extraQuery ? `${r.extraQuery[0]}=${r.extraQuery[1]}` : '']
        .filter((q) => q !== '').join('&');
      const headers: Record<string, string> = { ...r.header };
      if (r.body) headers['content-type'] = r.body.type;
      return { method: op.method as InjectOptions['method'], url: `${url}${qs === '' ? '' : `?${qs}`}`, headers, ...(r.body ? { payload: r.body.payload } : {}) };
    });
  });
  const random = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    segments: fc.array(segment, { maxLength: 6 }),
    prefix: fc.constantFrom('/v1/', '/v1/vms/', '/', '/v2/', '/v1/sysfs/'),
  }).map(({ method, segments, prefix }): InjectOptions => ({ method, url: `${prefix}${segments.join('/')}` }));

  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fc.oneof({ weight: 9, arbitrary: routed }, { weight: 1, arbitrary: random }), async (req) => {
      const res = await app.inject(req);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const what = `${req.method} ${req.url} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
      assert.ok(res.statusCode < 500 || res.statusCode === 501 || res.statusCode === 503, what);
      if (res.statusCode >= 400 && req.method !== 'HEAD') {
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
        const problem = res.json() as { code?: unknown; status?: unknown };
        assert.equal(typeof problem.code, 'string', what);
        assert.equal(problem.status, res.statusCode, what);
      }
      const hv = await app.inject({ method: 'GET', url: '/v1/hypervisor' });
      assert.equal(hv.statusCode, 200, 'GET /v1/hypervisor still answers');
      await trimVms();
      // The API acts as any VM (a receive on a guest's RM queue takes its reply away): a guest may crash of it.
      await dev.check({ guestCrashes: 'allowed' });
    }),
    // A URL that does not decode once got Fastify's own JSON error instead of a problem document.
    fuzzParams<[InjectOptions]>(800, { examples: [[{ method: 'GET', url: '/v1/%ff' }], [{ method: 'GET', url: '/v1/vms/%E0%A4%A' }]] }),
  );
  t.diagnostic(`statuses: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
  assert.ok([...statuses.keys()].some((s) => s < 300) && [...statuses.keys()].filter((s) => s >= 400).length >= 5, 'answers of every kind');
});

/** Delete the newest VMs the fuzz created beyond MAX_VMS, through the HLOS as DELETE /v1/vms/{vmid} would. */
async function trimVms(): Promise<void> {
  const hlos = dev.device.hlos;
  const extra = hlos.vms.list().filter((r) => !Object.values(dev.vmids).includes(r.vmid)).slice(MAX_VMS - 3);
  for (const r of extra) await hlos.deleteVm(r.vmid);
}
