// With the RM and the HLOS driver attached, the RM RPC families equal the RM's and the driver's own counters after
// real round trips over the RM link (spec §9), the VM families follow the RM's records, and stop requests follow
// the RM's events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_TYPE, OS_STATUS, RM_NOTIF, VM_STATUS } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { RmCalls } from '../../core/hlos/rm-calls.js';
import { RmClient } from '../../core/hlos/rm-client.js';
import { isRmFailure } from '../../core/hlos/rm-failure.js';
import { RPC_STAT_MESSAGES } from '../../core/hlos/rpc-stats.js';
import { bootSystem } from '../../core/rm/boot.js';
import { FAMILY } from '../../server/metrics/families.js';
import { MetricsRegistry } from '../../server/metrics/registry.js';
import { parseExposition, samplesOf, valueOf } from './exposition-parser.js';

async function booted() {
  const hyp = new Hypervisor({ seed: 3 });
  const { rm, hlos } = bootSystem(hyp);
  const client = new RmClient(hlos.port);
  hlos.port.onPacket = (packet) => client.deliver(packet);
  const metrics = new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false });
  metrics.attachRm(rm);
  metrics.attachHlosRpc(client.stats);
  return { hyp, rm, client, calls: new RmCalls(client), metrics };
}

const scrape = async (m: MetricsRegistry) => parseExposition(await m.render(), 'prometheus');

test('RM RPC requests, per-VM requests and the HLOS round-trip histogram equal the RM\'s and the driver\'s counters', async () => {
  const { rm, client, calls, metrics } = await booted();
  for (let i = 0; i < 5; i++) assert.ok(!isRmFailure(await calls.vmGetState(0)));
  const refused = await calls.vmStart(0x7f);
  assert.ok(isRmFailure(refused) && refused.code === 'RM_ERROR_VMID_INVALID');
  const vmid = await calls.vmAllocate(0);
  assert.equal(typeof vmid, 'number');
  const e = await scrape(metrics);

  const requests = (message: string, result: string) => valueOf(e, 'gunyah_rm_rpc_requests_total', { message, result });
  assert.equal(requests('VM_GET_STATE', 'RM_OK'), 5);
  assert.equal(requests('VM_START', 'RM_ERROR_VMID_INVALID'), 1);
  assert.equal(requests('VM_ALLOCATE', 'RM_OK'), 1);
  assert.equal(samplesOf(e, 'gunyah_rm_rpc_requests_total').length, 3);
  for (const s of samplesOf(e, 'gunyah_rm_rpc_requests_total')) {
    assert.equal(s.value, rm.stats.count(s.labels['message']!, s.labels['result']!), JSON.stringify(s.labels));
  }
  assert.equal(valueOf(e, 'gunyah_rm_rpc_vm_requests_total', { vmid: '3' }), 7);
  assert.equal(valueOf(e, 'gunyah_rm_rpc_vm_requests_total', { vmid: '255' }), 0);

  const row = RPC_STAT_MESSAGES.indexOf('VM_GET_STATE');
  const hist = (suffix: string, labels: Record<string, string> = {}) =>
    valueOf(e, `gunyah_rm_rpc_duration_seconds${suffix}`, { message: 'VM_GET_STATE', ...labels });
  assert.equal(hist('_count'), 5);
  assert.equal(hist('_count'), client.stats.durationCount[row]);
  assert.equal(hist('_sum'), client.stats.durationSum[row]);
  assert.equal(hist('_bucket', { le: '+Inf' }), 5);
  const bounds = samplesOf(e, 'gunyah_rm_rpc_duration_seconds_bucket').filter((s) => s.labels['message'] === 'VM_GET_STATE');
  assert.deepEqual(bounds.map((s) => s.labels['le']), [...FAMILY.gunyah_rm_rpc_duration_seconds.buckets.map(String), '+Inf']);
  bounds.forEach((s, i) => i > 0 && assert.ok(s.value >= bounds[i - 1]!.value, 'cumulative'));
  assert.deepEqual(
    [...new Set(samplesOf(e, 'gunyah_rm_rpc_duration_seconds_count').map((s) => s.labels['message']))].sort(),
    ['VM_ALLOCATE', 'VM_GET_STATE', 'VM_START'],
    'a histogram for each message sent, none for the others',
  );
  const timeouts = samplesOf(e, 'gunyah_rm_rpc_timeouts_total');
  assert.deepEqual(timeouts.map((s) => s.labels['message']), FAMILY.gunyah_rm_rpc_timeouts_total.values.message);
  assert.ok(timeouts.every((s) => s.value === 0));
  client.close();
});

test('notifications sent and pending follow the RM, one series per notification ID', async () => {
  const { rm, metrics } = await booted();
  rm.notify(VMID.HLOS, RM_NOTIF.VM_STATUS, new Uint8Array(8));
  const e = await scrape(metrics);
  const sent = samplesOf(e, 'gunyah_rm_notifications_total');
  assert.deepEqual(sent.map((s) => s.labels['notification']), Object.keys(RM_NOTIF));
  for (const s of sent) assert.equal(s.value, rm.stats.sent(s.labels['notification']!), s.labels['notification']);
  assert.ok(valueOf(e, 'gunyah_rm_notifications_total', { notification: 'VM_STATUS' })! >= 1);
  assert.equal(valueOf(e, 'gunyah_rm_pending_notifications', { vmid: '3' }), rm.lookup(VMID.HLOS)!.endpoint!.pendingNotifications);
});

test('VM families list the RM\'s records: the RM, the HLOS, and an allocated VM not yet built', async () => {
  const { hyp, rm, calls, metrics } = await booted();
  const vmid = (await calls.vmAllocate(0)) as number;
  const e = await scrape(metrics);
  assert.deepEqual(samplesOf(e, 'gunyah_vm_info').map((s) => s.labels), [
    { vmid: '3', name: 'HLOS', type: 'primary', image: '' },
    { vmid: String(vmid), name: rm.lookup(vmid)!.name, type: 'secondary', image: '' },
    { vmid: '255', name: 'RM', type: 'rm', image: '' },
  ]);
  assert.equal(hyp.vms.has(vmid), false, 'allocated only: not in the hypervisor yet');
  assert.equal(valueOf(e, 'gunyah_vms'), 3);
  assert.equal(valueOf(e, 'gunyah_vm_status', { vmid: '3' }), VM_STATUS.RUNNING);
  assert.equal(valueOf(e, 'gunyah_vm_status', { vmid: '255' }), VM_STATUS.RUNNING);
  assert.equal(valueOf(e, 'gunyah_vm_status', { vmid: String(vmid) }), VM_STATUS.LOAD);
  assert.equal(rm.lookup(vmid)!.status, VM_STATUS.LOAD);
  assert.equal(valueOf(e, 'gunyah_vm_os_status', { vmid: '3' }), OS_STATUS.NONE);
  assert.equal(valueOf(e, 'gunyah_vm_memory_bytes', { vmid: String(vmid) }), 0);
  assert.equal(valueOf(e, 'gunyah_vm_hypercalls_total', { vmid: String(vmid) }), 0);
  assert.equal(valueOf(e, 'gunyah_console_bytes_total', { vmid: '3', direction: 'out' }), 0);
});

test('the RM link\'s queues are labelled with their real ends: the VM sends on one, the RM on the other', async () => {
  const { rm, metrics } = await booted();
  const e = await scrape(metrics);
  const link = rm.lookup(VMID.HLOS)!.link!.vm;
  const ends = (capid: bigint) => {
    const cap = rm.lookup(VMID.HLOS)!.vm!.cspace.capAt(Number(capid & 0xffffffffn), Number(capid >> 32n));
    assert.ok(typeof cap !== 'number');
    const info = samplesOf(e, 'gunyah_msgq_info').find((s) => s.labels['msgq'] === String(cap.object.id))!;
    return [info.labels['sender_vmid'], info.labels['receiver_vmid'], info.labels['max_msg_size']];
  };
  assert.deepEqual(ends(link.txCapid), ['3', '255', '240']);
  assert.deepEqual(ends(link.rxCapid), ['255', '3', '240']);
});

test('stop_requested is set by a forced stop or a shutdown request and cleared when the VM runs again', async () => {
  const { rm, calls, metrics } = await booted();
  const vmid = (await calls.vmAllocate(0)) as number;
  const stopRequested = async () => valueOf(await scrape(metrics), 'gunyah_vm_stop_requested', { vmid: String(vmid) });
  assert.equal(await stopRequested(), 0);
  rm.events.emit('vm-exited', { vmid, exitType: EXIT_TYPE.VM_STOP_FORCED, reason: new Uint8Array(0) });
  assert.equal(await stopRequested(), 1);
  rm.events.emit('vm-status', { vmid, status: VM_STATUS.RUNNING, osStatus: OS_STATUS.BOOT, appStatus: 0 });
  assert.equal(await stopRequested(), 0);
  rm.events.emit('vm-exited', { vmid, exitType: EXIT_TYPE.SOFTWARE_ERROR, reason: new Uint8Array(0) });
  assert.equal(await stopRequested(), 0, 'a crash is not a stop request');
  rm.events.emit('notification', { to: vmid, msgId: RM_NOTIF.VM_SHUTDOWN, seq: 0, payload: new Uint8Array(4) });
  assert.equal(await stopRequested(), 1);
});

test('closing the registry leaves no listener on the RM', async () => {
  const hyp = new Hypervisor({ seed: 3 });
  const { rm } = bootSystem(hyp);
  const before = rm.events.listenerCount();
  const metrics = new MetricsRegistry(hyp, { version: '0.1.0', processMetrics: false });
  metrics.attachRm(rm);
  assert.ok(rm.events.listenerCount() > before);
  metrics.close();
  assert.equal(rm.events.listenerCount(), before);
});

test('a message ID outside spec §9.4 is counted under UNKNOWN', async () => {
  const { client, metrics } = await booted();
  const r = await client.call(0x5600ffff, new Uint8Array(0));
  assert.ok(isRmFailure(r) && r.code === 'RM_ERROR_UNIMPLEMENTED');
  const e = await scrape(metrics);
  assert.equal(valueOf(e, 'gunyah_rm_rpc_requests_total', { message: 'UNKNOWN', result: 'RM_ERROR_UNIMPLEMENTED' }), 1);
  assert.equal(valueOf(e, 'gunyah_rm_rpc_duration_seconds_count', { message: 'UNKNOWN' }), 1);
  client.close();
});
