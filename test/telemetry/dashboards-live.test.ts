// The dashboards and alert rules against the real thing: a booted device running the default topology (svm1
// console-echo, svm2 traffic) exposes GET /metrics, a real Prometheus scrapes it (OpenMetrics) every second, and
// every panel, variable and alert expression of grafana/ returns at least one series; promtool accepts the text.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { ConsoleHub } from '../../core/hlos/console-hub.js';
import { bootDevice } from '../../core/hlos/device.js';
import { VmError } from '../../core/hlos/vm-manager.js';
import { SCRAPE_JOB } from '../../grafana/alerts.js';
import { E2E_VARIABLES, listQueries } from '../../grafana/queries.js';
import { EVENT_SOURCES } from '../../server/event-sources.js';
import { EventHub } from '../../server/events.js';
import { metricsPlugin } from '../../server/metrics/plugin.js';
import { MetricsRegistry } from '../../server/metrics/registry.js';
import { checkMetrics, freePort, have, PROMETHEUS, PROMTOOL, waitFor } from './tools.js';

test('every dashboard panel, variable and alert expression returns data from a running device, and promtool passes', async (t) => {
  if (!have(t, PROMETHEUS)) return;
  const device = bootDevice({ seed: 5 });
  const consoles = new ConsoleHub(device.hlos.rm, device.hlos.vms, { rmEvents: device.system.rm.events });
  const events = new EventHub(EVENT_SOURCES);
  events.attach({ hyp: device.hyp, hlos: device.hlos, consoles });
  const metrics = new MetricsRegistry(device.hyp, { version: '0.1.0' });
  metrics.attachRm(device.system.rm);
  metrics.attachHlosRpc(device.hlos.client.stats);
  metrics.sources.events = events;
  metrics.sources.consoleReaders = consoles;
  for (const spec of [{ name: 'svm1', image: 'console-echo' }, { name: 'svm2', image: 'traffic', params: { rate: 50, console_rate: 1 } }]) {
    const vm = await device.hlos.createVm(spec);
    assert.ok(!(vm instanceof VmError), `${spec.name}: ${vm instanceof VmError ? vm.detail : ''}`);
  }

  const app = Fastify();
  await app.register(metricsPlugin, { metrics });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-dashboards-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    `  - job_name: ${SCRAPE_JOB}`,
    `    static_configs: [{ targets: ['127.0.0.1:${(app.server.address() as AddressInfo).port}'] }]`,
  ].join('\n'));
  const prometheus = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: 'ignore' });
  t.after(async () => {
    prometheus.kill();
    await app.close();
    events.detach();
    consoles.close();
    metrics.close();
    device.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (expr: string) =>
    (await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string; data?: { result: unknown[] } };
  // Rates need two samples in their window; the first scrape comes about 6 s after Prometheus starts.
  await waitFor('three scrapes', async () =>
    ((await query(`count_over_time(up{job="${SCRAPE_JOB}"}[1m]) >= 3`)).data?.result.length ? true : undefined), 30_000);

  const failures: string[] = [];
  for (const q of listQueries(E2E_VARIABLES)) {
    const answer = await query(q.expr);
    if (answer.status !== 'success') failures.push(`${q.where}: ${answer.error}\n    ${q.expr}`);
    else if (answer.data?.result.length === 0) failures.push(`${q.where}: no data\n    ${q.expr}`);
  }
  assert.deepEqual(failures, []);

  // The same exposition in the text format passes promtool.
  if (!have(t, PROMTOOL)) return;
  const text = await (await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/metrics`)).text();
  const lint = checkMetrics(text);
  assert.equal(lint.status, 0, lint.output);
});
