// The files Prometheus reads pass promtool, the catalogue exposes lint-clean metrics through prom-client, and a
// real Prometheus 2.42 scraping one sample of every family answers every dashboard, variable and alert expression
// with data. Without promtool or prometheus these tests skip, except under CI, where they fail.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, waitFor } from '../telemetry/tools.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parse } from 'yaml';
import { SCRAPE_JOB } from '../../grafana/alerts.js';
import { E2E_VARIABLES, listQueries } from '../../grafana/queries.js';
import { REPO_ROOT, RULES_FILE } from '../../grafana/render.js';
import { DEFAULT_METRICS_REMOVED, DEFAULT_METRICS_USED, METRIC_FAMILIES, type MetricFamily } from '../../server/metrics/families.js';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const CONFIG_FILE = 'grafana/prometheus.yml';

/** Whether `binary` exists; skips the test when it does not, or fails it under CI. */
function have(t: TestContext, binary: string): boolean {
  if (existsSync(binary)) return true;
  const message = `${binary} is missing: apt-get install -y --no-install-recommends prometheus`;
  if (process.env['CI']) assert.fail(message);
  t.skip(message);
  return false;
}

function promtool(args: string[], input?: string) {
  const run = spawnSync(PROMTOOL, args, { cwd: REPO_ROOT, input, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Label values for one sample of each family: the first enumerated value, else a plausible id. */
const SAMPLE_LABELS: Record<string, string> = {
  vmid: '128', sender_vmid: '128', receiver_vmid: '255', msgq: '1', doorbell: '1', vcpu: '0', max_msg_size: '240',
  method: 'GET', route: '/v1/vms', status: '200', type: 'vm', version: '0.1.0', name: 'svm1', image: 'console-echo',
};

/** A registry holding one sample of every catalogue family, plus prom-client's defaults as gunyahd serves them. */
function sampleRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of DEFAULT_METRICS_REMOVED) registry.removeSingleMetric(name);
  for (const family of METRIC_FAMILIES as readonly MetricFamily[]) {
    const labels = Object.fromEntries(family.labels.map((l) => [l, family.values?.[l]?.[0] ?? SAMPLE_LABELS[l]!]));
    const config = { name: family.name, help: family.help, labelNames: family.labels, registers: [registry] };
    if (family.type === 'counter') new Counter(config).inc(labels, 1);
    else if (family.type === 'histogram') new Histogram({ ...config, buckets: [...family.buckets!] }).observe(labels, 1e-4);
    else new Gauge(config).set(labels, 1);
  }
  return registry;
}

test('promtool check rules accepts the alert rules', (t) => {
  if (!have(t, PROMTOOL)) return;
  const { status, output } = promtool(['check', 'rules', RULES_FILE]);
  assert.equal(status, 0, output);
  assert.match(output, /SUCCESS: 7 rules found/);
});

test('promtool check config accepts the scrape configuration and the rules it loads', (t) => {
  if (!have(t, PROMTOOL)) return;
  const { status, output } = promtool(['check', 'config', CONFIG_FILE]);
  assert.equal(status, 0, output);
  assert.match(output, /SUCCESS: 7 rules found/);
});

test('the scrape job is the one the alert rules watch, at the interval the data source assumes', () => {
  const config = parse(readFileSync(join(REPO_ROOT, CONFIG_FILE), 'utf8'));
  const datasource = parse(readFileSync(join(REPO_ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
  assert.equal(config.scrape_configs[0].job_name, SCRAPE_JOB);
  assert.deepEqual(config.scrape_configs[0].static_configs[0].targets, ['localhost:8080']);
  assert.equal(config.global.scrape_interval, datasource.datasources[0].jsonData.timeInterval);
  assert.deepEqual(config.rule_files, [RULES_FILE.replace('grafana/', '')]);
});

test('promtool check metrics accepts every family as prom-client exposes it, with the defaults gunyahd keeps', async (t) => {
  if (!have(t, PROMTOOL)) return;
  const text = await sampleRegistry().metrics();
  for (const family of METRIC_FAMILIES) assert.match(text, new RegExp(`^# TYPE ${family.name} `, 'm'));
  for (const name of DEFAULT_METRICS_USED) assert.match(text, new RegExp(`^${name}[ {]`, 'm'), name);
  const { status, output } = promtool(['check', 'metrics'], text);
  assert.equal(status, 0, output);
});

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

test('Prometheus answers every dashboard, variable and alert expression with data', async (t) => {
  if (!have(t, PROMETHEUS)) return;
  const registry = sampleRegistry();
  const exporter: Server = createServer((_req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-prometheus-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ['${join(REPO_ROOT, RULES_FILE)}']`,
      'scrape_configs:',
      `  - job_name: ${SCRAPE_JOB}`,
      `    static_configs: [{ targets: ['127.0.0.1:${(exporter.address() as AddressInfo).port}'] }]`,
    ].join('\n'),
  );
  const prometheus: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  t.after(() => {
    prometheus.kill();
    exporter.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (expr: string) =>
    (await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json()) as QueryAnswer;
  // Rates need two samples in their window; the first scrape comes about 6 s after start (platform notes).
  await waitFor(
    'two scrapes',
    async () => ((await query(`count_over_time(up{job="${SCRAPE_JOB}"}[1m]) >= 2`)).data?.result.length ? true : undefined),
    25_000,
  );

  const failures: string[] = [];
  for (const q of listQueries(E2E_VARIABLES)) {
    const answer = await query(q.expr);
    if (answer.status !== 'success') failures.push(`${q.where}: ${answer.error}\n    ${q.expr}`);
    else if (answer.data?.result.length === 0) failures.push(`${q.where}: no data\n    ${q.expr}`);
  }
  assert.deepEqual(failures, []);

  // Every rule evaluates without error (for example no two series with the same labels once the name is dropped).
  const rules = await waitFor(
    'the rules to be evaluated',
    async () => {
      const answer = (await (await fetch(`${api}/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
      const list = answer.data.groups.flatMap((g) => g.rules);
      return list.length > 0 && list.every((r) => r.health !== 'unknown') ? list : undefined;
    },
    10_000,
  );
  assert.deepEqual(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`), []);
  assert.equal(rules.length, 7);
});
