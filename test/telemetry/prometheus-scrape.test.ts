// A real Prometheus 2.42 scrapes GET /metrics of a booted system (RM, HLOS and a VM with queue traffic): it asks for
// OpenMetrics, scrapes the exposition without a parse error, and stores the core's values under the catalogue's
// names (counters with _total, info series with _info, process metrics too).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { RmCalls } from '../../core/hlos/rm-calls.js';
import { RmClient } from '../../core/hlos/rm-client.js';
import { bootSystem } from '../../core/rm/boot.js';
import { metricsPlugin } from '../../server/metrics/plugin.js';
import { MetricsRegistry } from '../../server/metrics/registry.js';
import { freePort, have, PROMETHEUS, waitFor } from './tools.js';

interface Vector {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('Prometheus negotiates OpenMetrics, scrapes it without error and stores the core\'s values', async (t) => {
  if (!have(t, PROMETHEUS)) return;
  const hyp = new Hypervisor({ seed: 9 });
  const { rm, hlos } = bootSystem(hyp);
  const client = new RmClient(hlos.port);
  hlos.port.onPacket = (packet) => client.deliver(packet);
  for (let i = 0; i < 3; i++) await new RmCalls(client).vmGetState(0);
  const metrics = new MetricsRegistry(hyp, { version: '0.1.0' });
  metrics.attachRm(rm);
  metrics.attachHlosRpc(client.stats);

  const accepts: string[] = [];
  const app = Fastify();
  app.addHook('onRequest', async (request) => {
    if (request.url === '/metrics') accepts.push(request.headers.accept ?? '');
  });
  await app.register(metricsPlugin, { metrics });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-telemetry-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s }',
    'scrape_configs:',
    '  - job_name: gunyah',
    `    static_configs: [{ targets: ['127.0.0.1:${(app.server.address() as AddressInfo).port}'] }]`,
  ].join('\n'));
  const prometheus = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: 'ignore' });
  t.after(async () => {
    prometheus.kill();
    await app.close();
    client.close();
    metrics.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (expr: string) =>
    ((await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json()) as Vector).data.result;
  // The first scrape comes about 6 s after Prometheus starts (platform notes).
  await waitFor('a scrape', async () => ((await query('up{job="gunyah"} == 1')).length > 0 ? true : undefined), 25_000);

  const targets = (await (await fetch(`${api}/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
  assert.deepEqual(targets.data.activeTargets.map((x) => [x.health, x.lastError]), [['up', '']]);
  assert.match(accepts[0]!, /^application\/openmetrics-text;version=1\.0\.0/);

  const one = async (expr: string) => {
    const r = await query(expr);
    assert.equal(r.length, 1, `${expr}: ${JSON.stringify(r)}`);
    return Number(r[0]!.value[1]);
  };
  assert.equal(await one('gunyah_rm_rpc_requests_total{message="VM_GET_STATE",result="RM_OK"}'), 3);
  assert.equal(await one('gunyah_rm_rpc_duration_seconds_count{message="VM_GET_STATE"}'), 3);
  assert.equal(await one('gunyah_rm_rpc_duration_seconds_bucket{message="VM_GET_STATE",le="+Inf"}'), 3);
  assert.equal(await one('gunyah_vm_info{vmid="3",name="HLOS",type="primary"}'), 1);
  assert.equal(await one('gunyah_vm_status{vmid="3"}'), 3);
  const sends = await one('gunyah_hypercalls_total{call="msgqueue_send",result="OK"}');
  assert.equal(sends, [...hyp.stats.entries()].find((x) => x.call === 'msgqueue_send' && x.result === 'OK')?.count);
  assert.ok(sends >= 3);
  const link = rm.lookup(3)!.link!.vm;
  const txQueue = hlos.vm.cspace.capAt(Number(link.txCapid & 0xffffffffn), Number(link.txCapid >> 32n));
  assert.ok(typeof txQueue !== 'number');
  assert.equal(await one(`gunyah_msgq_messages_total{msgq="${txQueue.object.id}",direction="sent"}`), 3);
  assert.equal(await one(`gunyah_msgq_info{msgq="${txQueue.object.id}",sender_vmid="3",receiver_vmid="255"}`), 1);
  assert.equal((await query('process_cpu_seconds_total')).length, 1);
  assert.equal((await query('gunyah_build_info{version="0.1.0"}')).length, 1);
});
