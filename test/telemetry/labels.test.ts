// Label values stay within the catalogue whatever callers do: random function IDs, immediates and arguments, RM
// message IDs nobody defined, and URLs and methods no route serves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { setReg } from '../../core/hyp/regs.js';
import { FAMILY, METRIC_FAMILIES, type MetricFamily } from '../../server/metrics/families.js';
import { metricsPlugin } from '../../server/metrics/plugin.js';
import { MetricsRegistry } from '../../server/metrics/registry.js';
import type { RmTelemetry } from '../../server/metrics/sources.js';
import { hypFixture } from '../helpers/hyp-fixture.js';
import { parseExposition, samplesOf, type Exposition } from './exposition-parser.js';

/** xorshift32: the same random calls on every run. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Every sample of every catalogue family whose enumerated labels leave their value set (plus UNKNOWN). */
function outOfCatalogue(e: Exposition): string[] {
  const bad: string[] = [];
  for (const f of METRIC_FAMILIES as readonly MetricFamily[]) {
    for (const s of e.samples.filter((x) => x.name === f.name || x.name.startsWith(`${f.name}_`))) {
      for (const [label, values] of Object.entries(f.values ?? {})) {
        const v = s.labels[label]!;
        if (!values.includes(v) && v !== 'UNKNOWN') bad.push(`${s.name}{${label}="${v}"}`);
      }
    }
  }
  return bad;
}

test('20,000 random hypercalls in both conventions leave every call and result label in the catalogue', async () => {
  const { hyp, a } = hypFixture({ vms: 1 });
  const random = prng(7);
  const regs = a.vcpu.regs;
  for (let i = 0; i < 20_000; i++) {
    for (let r = 0; r < regs.length; r++) regs[r] = (random() * 2 ** 32) >>> 0;
    const smccc = random() < 0.5;
    // Half the SMCCC IDs in the vendor-hyp hypercall range (0xC600_0000 | n), half anywhere.
    if (smccc && random() < 0.5) setReg(regs, 0, 0xc6000000 + Math.floor(random() * 0x4000));
    hyp.hypercall(a.vcpu, regs, smccc ? 0 : 0x6000 + Math.floor(random() * 0x4000));
  }
  const m = new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false });
  const e = parseExposition(await m.render(), 'prometheus');
  assert.deepEqual(outOfCatalogue(e), []);
  const series = samplesOf(e, 'gunyah_hypercalls_total');
  const total = series.reduce((n, s) => n + s.value, 0);
  assert.equal(total, hyp.stats.counts.reduce((n, c) => n + c, 0), 'every call counted once');
  assert.ok(total >= 20_000);
  assert.ok(series.length <= FAMILY.gunyah_hypercalls_total.values.call.length * FAMILY.gunyah_hypercalls_total.values.result.length);
  assert.ok(series.some((s) => s.labels['call'] === 'unknown'));
});

test('RM requests with undefined message IDs or results fold into UNKNOWN without repeating a series', async () => {
  const { hyp } = hypFixture({ vms: 1 });
  const random = prng(11);
  const requests = Array.from({ length: 500 }, () =>
    [random() < 0.5 ? `0x${Math.floor(random() * 2 ** 32).toString(16)}` : 'VM_START', random() < 0.5 ? 'RM_OK' : `RM_ERROR_0x${Math.floor(random() * 999)}`, 1] as const);
  const rm: RmTelemetry = {
    vms: () => [],
    requests: () => requests,
    vmRequests: () => 0,
    notifications: () => 0,
    pendingNotifications: () => 0,
    vm: () => undefined,
  };
  const m = new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false });
  m.sources.rm = rm;
  const e = parseExposition(await m.render(), 'prometheus');
  assert.deepEqual(outOfCatalogue(e), []);
  const series = samplesOf(e, 'gunyah_rm_rpc_requests_total');
  assert.ok(series.length <= 4, series.map((s) => JSON.stringify(s.labels)).join());
  assert.equal(series.reduce((n, s) => n + s.value, 0), 500);
});

test('URLs and methods no route serves are counted under UNKNOWN', async () => {
  const m = new MetricsRegistry(hypFixture({ vms: 1 }).hyp, { version: '0.1.0', processMetrics: false });
  const app = Fastify();
  await app.register(metricsPlugin, { metrics: m });
  app.get('/v1/vms/:vmid', async () => ({}));
  const random = prng(5);
  for (let i = 0; i < 200; i++) {
    const path = `/${Math.floor(random() * 1e9).toString(36)}/${i}`;
    await app.inject({ method: random() < 0.5 ? 'GET' : 'DELETE', url: random() < 0.3 ? `/v1/vms/${i}` : path });
  }
  const e = parseExposition(await m.render(), 'prometheus');
  const routes = new Set(samplesOf(e, 'gunyah_http_requests_total').map((s) => s.labels['route']));
  assert.deepEqual([...routes].sort(), ['/v1/vms/:vmid', 'UNKNOWN']);
  assert.ok(samplesOf(e, 'gunyah_http_requests_total').length <= 4);
});
