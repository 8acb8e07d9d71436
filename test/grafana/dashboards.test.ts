// The committed dashboards and alert rules are the generator's output, and every query follows the conventions
// of grafana/README.md: one data source variable, a unit on every panel, $__rate_interval, catalogue names only,
// scoped to $instance and $vm.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { OS_STATUS, VM_STATUS } from '../../core/abi/rm.js';
import { ALERT_RULES, ruleExpr } from '../../grafana/alerts.js';
import { DASHBOARDS } from '../../grafana/boards/index.js';
import type { Dashboard, PlacedPanel } from '../../grafana/panels.js';
import { E2E_VARIABLES, listQueries, substitute } from '../../grafana/queries.js';
import { DASHBOARD_DIR, REGENERATE_COMMAND, REPO_ROOT, RULES_FILE, generatedFiles } from '../../grafana/render.js';
import { DEFAULT_METRICS_USED, FAMILY, type MetricFamily } from '../../server/metrics/families.js';

const families = FAMILY as Record<string, MetricFamily>;
const committed = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const dataPanels = (d: Dashboard) => d.panels.filter((p) => p.type !== 'row');
const panelExprs = () => listQueries().filter((q) => q.source === 'panel');

/** Every metric named in an expression, with the matchers of its selector (undefined when it has none). */
function selectors(expr: string): { name: string; matchers: string | undefined }[] {
  return [...expr.matchAll(/\b((?:gunyah|process|nodejs)_[a-z0-9_]+)(?:\{([^}]*)\})?/g)].map((m) => ({
    name: m[1]!,
    matchers: m[2],
  }));
}

/** The catalogue family a series belongs to: histogram series drop their _bucket, _sum or _count. */
const familyOf = (series: string) =>
  families[series] ?? [families[series.replace(/_(bucket|sum|count)$/, '')]].find((f) => f?.type === 'histogram');

test('the committed dashboards and alert rules are what the generator writes', () => {
  for (const file of generatedFiles()) {
    assert.ok(
      committed(file.path) === file.content,
      `${file.path} is stale: regenerate it with \`${REGENERATE_COMMAND}\` and commit the result`,
    );
  }
  const expected = generatedFiles().filter((f) => f.path.startsWith(DASHBOARD_DIR)).map((f) => f.path.split('/').pop());
  assert.deepEqual(readdirSync(join(REPO_ROOT, DASHBOARD_DIR)).sort(), expected.sort(),
    `${DASHBOARD_DIR} holds a dashboard the generator no longer writes: run \`${REGENERATE_COMMAND}\``);
});

test('dashboards have unique uids, and panels unique ids inside the 24-column grid', () => {
  assert.deepEqual(DASHBOARDS.map((d) => d.uid), ['gunyah-overview', 'gunyah-vm', 'gunyah-msgq', 'gunyah-rm-rpc', 'gunyah-hypercalls']);
  for (const d of DASHBOARDS) {
    assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, d.uid);
    for (const p of d.panels) {
      const { x, w } = p['gridPos'] as { x: number; w: number };
      assert.ok(x >= 0 && x + w <= 24, `${d.uid} / ${p.title}`);
    }
  }
});

test('every dashboard has the $datasource, $instance and $vm variables', () => {
  for (const d of DASHBOARDS) {
    const [datasource, instance, vm] = (d['templating'] as { list: Record<string, unknown>[] }).list;
    assert.deepEqual([datasource?.['name'], datasource?.['type'], datasource?.['query']], ['datasource', 'datasource', 'prometheus']);
    assert.deepEqual([instance?.['name'], instance?.['definition']], ['instance', 'label_values(gunyah_build_info, instance)']);
    assert.deepEqual(
      [vm?.['name'], vm?.['definition'], vm?.['multi'], vm?.['includeAll']],
      ['vm', 'label_values(gunyah_vm_info{instance=~"$instance"}, vmid)', true, true],
    );
  }
});

test('every panel has a unit, a description and the ${datasource} data source, on the panel and each target', () => {
  for (const d of DASHBOARDS) {
    for (const p of dataPanels(d)) {
      const where = `${d.uid} / ${p.title}`;
      const defaults = (p['fieldConfig'] as { defaults: { unit?: unknown } }).defaults;
      assert.equal(typeof defaults.unit, 'string', where);
      assert.notEqual(defaults.unit, '', where);
      assert.ok(typeof p['description'] === 'string' && p['description'] !== '', where);
      assert.deepEqual(p['datasource'], { type: 'prometheus', uid: '${datasource}' }, where);
      assert.ok((p.targets ?? []).length > 0, where);
      for (const t of p.targets ?? []) assert.deepEqual(t['datasource'], { type: 'prometheus', uid: '${datasource}' }, where);
    }
  }
});

test('every range in a panel query is $__rate_interval', () => {
  for (const q of panelExprs()) {
    const ranges = [...q.expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
    for (const range of ranges) assert.equal(range, '$__rate_interval', `${q.where}: ${q.expr}`);
    if (/\b(rate|increase)\(/.test(q.expr)) assert.ok(ranges.length > 0, q.where);
  }
});

test('every metric in a panel, variable or alert expression is in the catalogue or prom-client defaults', () => {
  const known = (name: string) => familyOf(name) !== undefined || (DEFAULT_METRICS_USED as readonly string[]).includes(name);
  for (const q of listQueries()) {
    const names = selectors(q.expr).map((s) => s.name);
    assert.ok(names.length > 0 || q.expr.startsWith('up{'), `${q.where} reads no metric`);
    for (const name of names) assert.ok(known(name), `${q.where}: ${name} is not in server/metrics/families.ts`);
  }
});

test('every panel selector keeps to $instance, and to $vm when its family has a vmid', () => {
  for (const q of panelExprs()) {
    for (const { name, matchers } of selectors(q.expr)) {
      const where = `${q.where}: ${name}`;
      assert.match(matchers ?? '', /instance=~"\$instance"/, where);
      if (familyOf(name)?.labels.includes('vmid')) assert.match(matchers ?? '', /vmid=~"\$vm"/, where);
    }
  }
});

test('message-queue panels reach $vm through gunyah_msgq_info, at either end of the queue', () => {
  const queuePanels = panelExprs().filter((q) => /gunyah_msgq_(?!info)/.test(q.expr));
  assert.ok(queuePanels.length >= 6);
  for (const q of queuePanels) {
    assert.ok(q.expr.includes('gunyah_msgq_info{instance=~"$instance", sender_vmid=~"$vm"}'), q.where);
    assert.ok(q.expr.includes('gunyah_msgq_info{instance=~"$instance", receiver_vmid=~"$vm"}'), q.where);
  }
});

test('state panels name the spec §9.5 numbers', () => {
  const statusPanel = DASHBOARDS[0]!.panels.find((p) => p.title === 'VM status') as PlacedPanel;
  const [mapping] = (statusPanel['fieldConfig'] as { defaults: { mappings: { options: Record<string, { text: string }> }[] } })
    .defaults.mappings;
  assert.equal(mapping?.options[String(VM_STATUS.RUNNING)]?.text, 'RUNNING');
  assert.equal(mapping?.options[String(VM_STATUS.EXITED)]?.text, 'EXITED');
  const crashed = panelExprs().find((q) => q.where === 'gunyah-overview / Crashed VMs / A');
  assert.match(crashed?.expr ?? '', new RegExp(`== bool ${OS_STATUS.CRASHED}\\)$`));
});

test('listQueries lists every panel target, both variables and every alert value, substituted', () => {
  const targets = DASHBOARDS.flatMap((d) => d.panels.flatMap((p) => p.targets ?? []));
  const listed = listQueries(E2E_VARIABLES);
  assert.equal(listed.filter((q) => q.source === 'panel').length, targets.length);
  assert.deepEqual(listed.filter((q) => q.source === 'variable').map((q) => q.expr), ['gunyah_build_info', 'gunyah_vm_info{instance=~".+"}']);
  assert.deepEqual(listed.filter((q) => q.source === 'alert').map((q) => q.where), ALERT_RULES.map((r) => r.alert));
  for (const q of listed) assert.doesNotMatch(q.expr, /\$/, q.where);
  assert.equal(
    substitute('rate(x{instance=~"$instance", vmid=~"$vm"}[$__rate_interval])', { instance: 'a:1', vm: '128|129', rateInterval: '2m' }),
    'rate(x{instance=~"a:1", vmid=~"128|129"}[2m])',
  );
});

test('every alert rule has for, a severity, a summary and a description, and its expression is (value) threshold', () => {
  const file = parse(committed(RULES_FILE)) as { groups: { rules: Record<string, unknown>[] }[] };
  const rules = file.groups.flatMap((g) => g.rules);
  assert.deepEqual(rules.map((r) => r['alert']), [
    'GunyahDaemonDown', 'GunyahRmRpcErrors', 'GunyahRmRpcTimeouts', 'GunyahMsgqStuckFull', 'GunyahVmCrashed',
    'GunyahConsoleBytesDropped', 'GunyahHypercallErrorRatioHigh',
  ]);
  rules.forEach((rule, i) => {
    const source = ALERT_RULES[i]!;
    assert.equal(rule['expr'], ruleExpr(source));
    assert.equal(rule['expr'], `(${source.value}) ${source.threshold}`);
    assert.match(String(rule['for']), /^\d+m$/, source.alert);
    assert.ok(['critical', 'warning'].includes((rule['labels'] as { severity: string }).severity), source.alert);
    const annotations = rule['annotations'] as { summary?: string; description?: string };
    assert.ok(annotations.summary && annotations.description, source.alert);
  });
});

test('the VM crash rule fires on os_status CRASHED or status EXITED, unless the HLOS stopped the VM', () => {
  const crashed = ALERT_RULES.find((r) => r.alert === 'GunyahVmCrashed')!;
  assert.ok(crashed.value.includes(`gunyah_vm_os_status == bool ${OS_STATUS.CRASHED}`));
  assert.ok(crashed.value.includes(`gunyah_vm_status == bool ${VM_STATUS.EXITED}`));
  assert.ok(crashed.value.includes('gunyah_vm_stop_requested == bool 0'));
  assert.equal(crashed.threshold, '> 0');
});
