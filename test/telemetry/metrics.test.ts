// GET /metrics reads the core's own counters: after a known sequence of hypercalls and queue operations the
// scraped values equal the core's numbers exactly, every catalogue family is there in both formats, and the
// output passes promtool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GH_ERROR } from '../../core/abi/errors.js';
import { right } from '../../core/abi/objects.js';
import { SMCCC_CALL } from '../../core/abi/smccc.js';
import { smc } from '../../core/hyp/call.js';
import type { Doorbell } from '../../core/ipc/doorbell.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { VCPU_STATE_NAMES } from '../../core/vm/vcpu.js';
import { EVENT_SOURCES } from '../../server/event-sources.js';
import { EventHub } from '../../server/events.js';
import { DEFAULT_METRICS_REMOVED, DEFAULT_METRICS_USED, METRIC_FAMILIES, VCPU_STATE } from '../../server/metrics/families.js';
import { MetricsRegistry } from '../../server/metrics/registry.js';
import { hypFixture, RAM_BASE, RAM_SIZE } from '../helpers/hyp-fixture.js';
import { parseExposition, samplesOf, valueOf } from './exposition-parser.js';
import { checkMetrics, have } from './tools.js';

const MSG_SIZES = [10, 20, 30, 40];
const RX_IPA = RAM_BASE + 0x8000;

/**
 * VM 128 makes a 4-deep queue of 64-byte messages and gives VM 129 its send end; 129 fills it (4 sends) and is
 * refused once; 128 receives two. 128 makes a doorbell and gives 129 its send end; 129 rings 0b101 then 0b010;
 * 128 clears bit 0. 128 also makes one SMCCC_VERSION call and one call with an unknown number.
 */
function knownSequence() {
  const f = hypFixture({ vms: 2, vcpus: 2 });
  const { a, b } = f;
  const q = a.msgqueue(4, 64);
  const qSend = a.grant(q, b, right('msgqueue', 'send'));
  for (const size of [...MSG_SIZES, 50]) {
    b.vm.memory.writeBytes(RAM_BASE, new Uint8Array(size).fill(size));
    const err = b.call('msgqueue_send', [qSend, size, RAM_BASE, 0, 0]).err;
    assert.equal(err, size === 50 ? GH_ERROR.MSGQUEUE_FULL : GH_ERROR.OK);
  }
  for (let i = 0; i < 2; i++) assert.equal(a.call('msgqueue_receive', [q, RX_IPA, 64, 0]).err, GH_ERROR.OK);
  const db = a.doorbell();
  const dbSend = a.grant(db, b, right('doorbell', 'send'));
  assert.equal(b.call('doorbell_send', [dbSend, 0b101]).err, GH_ERROR.OK);
  assert.equal(b.call('doorbell_send', [dbSend, 0b010]).err, GH_ERROR.OK);
  assert.equal(a.call('doorbell_receive', [db, 0b001]).err, GH_ERROR.OK);
  assert.equal(smc(a.vcpu, SMCCC_CALL.SMCCC_VERSION).err, 0x10003);
  a.vcpu.regs.fill(0);
  f.hyp.hypercall(a.vcpu, a.vcpu.regs, 0x6000 + 0x3fff);
  return { ...f, msgq: a.object<Msgqueue>(q), doorbell: a.object<Doorbell>(db) };
}

const scrape = async (m: MetricsRegistry, format: 'prometheus' | 'openmetrics' = 'prometheus') =>
  parseExposition(await m.render(format), format);

test('hypercall counters equal the core\'s statistics, call by call and result by result', async () => {
  const { hyp } = knownSequence();
  const e = await scrape(new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false }));
  const expected = [...hyp.stats.entries()].map(({ call, result, count }) => ({
    // The catalogue spells SMCCC services as SMCCC_CALL does; the core's statistics in lower case.
    call: call.toUpperCase() in SMCCC_CALL ? call.toUpperCase() : call, result, count,
  }));
  const scraped = samplesOf(e, 'gunyah_hypercalls_total').map((s) => ({ call: s.labels['call'], result: s.labels['result'], count: s.value }));
  const order = (x: { call?: string; result?: string }) => `${x.call}/${x.result}`;
  assert.deepEqual(scraped.sort((x, y) => order(x).localeCompare(order(y))), expected.sort((x, y) => order(x).localeCompare(order(y))));
  const calls = (call: string, result: string) => valueOf(e, 'gunyah_hypercalls_total', { call, result });
  assert.equal(calls('msgqueue_send', 'OK'), 4);
  assert.equal(calls('msgqueue_send', 'ERROR_MSGQUEUE_FULL'), 1);
  assert.equal(calls('msgqueue_receive', 'OK'), 2);
  assert.equal(calls('doorbell_send', 'OK'), 2);
  assert.equal(calls('SMCCC_VERSION', 'OK'), 1);
  assert.equal(calls('unknown', 'ERROR_UNIMPLEMENTED'), 1);
});

test('per-VM hypercall counts are each VM\'s own counter', async () => {
  const { hyp, a, b } = knownSequence();
  const e = await scrape(new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false }));
  // 128: msgqueue create/configure/activate, 2 receives, doorbell create/activate, 1 receive, SMCCC, unknown.
  assert.equal(valueOf(e, 'gunyah_vm_hypercalls_total', { vmid: '128' }), 10);
  assert.equal(valueOf(e, 'gunyah_vm_hypercalls_total', { vmid: '129' }), 7);
  assert.equal(a.vm.hypercalls, 10);
  assert.equal(b.vm.hypercalls, 7);
});

test('message queue families equal the queue\'s counters, and its info names both ends', async () => {
  const { hyp, msgq } = knownSequence();
  const e = await scrape(new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false }));
  const id = String(msgq.id);
  const at = (name: string, labels: Record<string, string> = {}) => valueOf(e, name, { msgq: id, ...labels });
  assert.equal(at('gunyah_msgq_messages_total', { direction: 'sent' }), 4);
  assert.equal(at('gunyah_msgq_messages_total', { direction: 'received' }), 2);
  assert.equal(at('gunyah_msgq_bytes_total', { direction: 'sent' }), 100);
  assert.equal(at('gunyah_msgq_bytes_total', { direction: 'received' }), 30);
  assert.equal(at('gunyah_msgq_depth'), 2);
  assert.equal(at('gunyah_msgq_capacity'), 4);
  assert.equal(at('gunyah_msgq_full_total'), 1);
  assert.deepEqual(samplesOf(e, 'gunyah_msgq_info'), [
    { name: 'gunyah_msgq_info', labels: { msgq: id, sender_vmid: '129', receiver_vmid: '128', max_msg_size: '64' }, value: 1 },
  ]);
  assert.deepEqual(
    [msgq.sent, msgq.received, msgq.bytesSent, msgq.bytesReceived, msgq.count, msgq.depth, msgq.fullRejects],
    [4, 2, 100, 30, 2, 4, 1],
  );
});

test('doorbell sends are labelled with the sending VM, pending flags with the receiving VM', async () => {
  const { hyp, doorbell } = knownSequence();
  const e = await scrape(new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false }));
  assert.deepEqual(samplesOf(e, 'gunyah_doorbell_sends_total'), [
    { name: 'gunyah_doorbell_sends_total', labels: { doorbell: String(doorbell.id), vmid: '129' }, value: 2 },
  ]);
  assert.deepEqual(samplesOf(e, 'gunyah_doorbell_flags'), [
    { name: 'gunyah_doorbell_flags', labels: { doorbell: String(doorbell.id), vmid: '128' }, value: 0b110 },
  ]);
  assert.equal(doorbell.flags, 0b110n);
});

test('VM and vCPU families: info, memory, count, and each vCPU\'s scheduler state, run time and wakeups', async () => {
  const { hyp, a } = knownSequence();
  const vcpu = a.vm.vcpus[1]!;
  vcpu.stats.runNs = 1_500_000_000;
  vcpu.stats.wakeups = 7;
  const e = await scrape(new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false }));
  assert.deepEqual(samplesOf(e, 'gunyah_vm_info').map((s) => s.labels), [
    { vmid: '128', name: 'vm80', type: 'secondary', image: '' },
    { vmid: '129', name: 'vm81', type: 'secondary', image: '' },
  ]);
  assert.equal(valueOf(e, 'gunyah_vms'), 2);
  assert.equal(valueOf(e, 'gunyah_vm_memory_bytes', { vmid: '128' }), RAM_SIZE);
  assert.equal(samplesOf(e, 'gunyah_vcpu_state').length, 4);
  for (const v of a.vm.vcpus) {
    const labels = { vmid: '128', vcpu: String(v.index) };
    assert.equal(valueOf(e, 'gunyah_vcpu_state', labels), VCPU_STATE[VCPU_STATE_NAMES[v.schedState]]);
  }
  assert.equal(valueOf(e, 'gunyah_vcpu_state', { vmid: '128', vcpu: '0' }), VCPU_STATE.powered_off);
  assert.equal(valueOf(e, 'gunyah_vcpu_run_seconds_total', { vmid: '128', vcpu: '1' }), 1.5);
  assert.equal(valueOf(e, 'gunyah_vcpu_wakeups_total', { vmid: '128', vcpu: '1' }), 7);
  assert.equal(valueOf(e, 'gunyah_vcpu_wakeups_total', { vmid: '129', vcpu: '0' }), 0);
  assert.equal(valueOf(e, 'gunyah_build_info', { version: '0.1.0' }), 1);
});

test('every live queue and doorbell has zero series from its creation; a destroyed one has none', async () => {
  const f = hypFixture({ vms: 1 });
  const q = f.a.msgqueue();
  const db = f.a.doorbell();
  const m = new MetricsRegistry(f.hyp, { version: '0.1.0', processMetrics: false });
  const id = String(f.a.object(q).id);
  let e = await scrape(m);
  for (const name of ['gunyah_msgq_messages_total', 'gunyah_msgq_bytes_total']) {
    for (const direction of ['sent', 'received']) assert.equal(valueOf(e, name, { msgq: id, direction }), 0, name);
  }
  for (const name of ['gunyah_msgq_depth', 'gunyah_msgq_full_total']) assert.equal(valueOf(e, name, { msgq: id }), 0, name);
  assert.equal(valueOf(e, 'gunyah_doorbell_sends_total', { doorbell: String(f.a.object(db).id), vmid: '128' }), 0);
  for (const cap of [q, db]) assert.equal(f.a.call('cspace_delete_cap_from', [f.a.cspace, cap, 0]).err, GH_ERROR.OK);
  e = await scrape(m);
  assert.equal(e.samples.filter((s) => s.labels['msgq'] !== undefined || s.labels['doorbell'] !== undefined).length, 0);
});

test('every catalogue family is exposed with its help and type, in both formats', async () => {
  const { hyp } = knownSequence();
  const m = new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false });
  const text = await scrape(m, 'prometheus');
  const om = await scrape(m, 'openmetrics');
  for (const f of METRIC_FAMILIES) {
    const t = text.families.get(f.name);
    assert.equal(t?.help, f.help, f.name);
    assert.equal(t?.type, f.type === 'info' ? 'gauge' : f.type, f.name);
    // OpenMetrics names counter families without _total and info families without _info.
    const omName = f.type === 'counter' ? f.name.replace(/_total$/, '') : f.type === 'info' ? f.name.replace(/_info$/, '') : f.name;
    assert.equal(om.families.get(omName)?.type, f.type, f.name);
    assert.equal(om.families.get(omName)?.help, f.help, f.name);
  }
  const gunyah = (e: typeof text) => e.samples.filter((s) => s.name.startsWith('gunyah_') && !s.name.startsWith('gunyah_http'));
  assert.deepEqual(gunyah(om), gunyah(text), 'the same samples in both formats');
});

test('process metrics: the ones the dashboards use are there, the gauges named _total are not', async () => {
  const m = new MetricsRegistry(hypFixture().hyp, { version: '0.1.0' });
  const e = await scrape(m);
  for (const name of DEFAULT_METRICS_USED) assert.ok(e.families.has(name), name);
  for (const name of DEFAULT_METRICS_REMOVED) assert.ok(!e.families.has(name), name);
  const om = await scrape(m, 'openmetrics');
  assert.equal(om.families.get('process_cpu_seconds')?.type, 'counter');
  assert.ok(samplesOf(om, 'process_cpu_seconds_total').length === 1);
  assert.ok((await scrape(m)).families.has('process_cpu_seconds_total'), 'an OpenMetrics scrape leaves the text format intact');
});

test('promtool check metrics accepts the output, a VM name with quotes, backslashes and a newline included', async (t) => {
  if (!have(t, '/usr/bin/promtool')) return;
  const { hyp, a } = knownSequence();
  a.vm.name = 'odd "name" \\ with\na newline';
  const m = new MetricsRegistry(hyp, { version: '0.1.0' });
  m.http.answered('GET', '/v1/vms/:vmid', 200, 0.0004);
  const text = await m.render('prometheus');
  const { status, output } = checkMetrics(text);
  assert.equal(status, 0, output);
  assert.equal(output, '', 'no lint findings');
  const info = samplesOf(parseExposition(text, 'prometheus'), 'gunyah_vm_info').find((s) => s.labels['vmid'] === '128');
  assert.equal(info?.labels['name'], 'odd "name" \\ with\na newline');
});

test('rendering hands the event loop back between slices, so a big scrape never blocks other work', async () => {
  const f = hypFixture({ vms: 4 });
  for (let i = 0; i < 200; i++) f.hyp.createVm({ vmid: 1000 + i, name: `vm${i}`, vcpus: 2 });
  const m = new MetricsRegistry(f.hyp, { version: '0.1.0', processMetrics: false, sliceMs: 0 });
  let ticks = 0;
  let running = true;
  const tick = () => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const text = await m.render();
  running = false;
  assert.ok(ticks >= 10, `${ticks} turns of the event loop during the scrape`);
  assert.equal(samplesOf(parseExposition(text, 'prometheus'), 'gunyah_vm_info').length, 204);
});

test('events and console readers: one series per event type and per VM, equal to their owners\' counters', async () => {
  const { hyp } = knownSequence();
  const m = new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false });
  const hub = new EventHub(EVENT_SOURCES);
  const [first, second] = hub.types;
  hub.publish(first!, {});
  hub.publish(first!, {});
  m.sources.events = hub;
  m.sources.consoleReaders = { droppedBytes: (vmid) => (vmid === 128 ? 4096 : 0), readers: (vmid) => (vmid === 129 ? 2 : 0) };
  const e = await scrape(m);
  assert.deepEqual(samplesOf(e, 'gunyah_events_total').map((s) => s.labels['type']), hub.types);
  assert.equal(valueOf(e, 'gunyah_events_total', { type: first! }), 2);
  assert.equal(valueOf(e, 'gunyah_events_total', { type: second! }), 0);
  assert.equal(valueOf(e, 'gunyah_console_dropped_bytes_total', { vmid: '128' }), 4096);
  assert.equal(valueOf(e, 'gunyah_console_readers', { vmid: '129' }), 2);
  assert.equal(valueOf(e, 'gunyah_console_readers', { vmid: '128' }), 0);
});
