// The routes on a really booted device: the RM's own links, VMs created over RM RPC, and the VM states the RM
// reports deciding what each route allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HC } from '../../core/abi/hypercalls.js';
import { RM_RPC } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import type { VmView } from '../../core/hlos/hlos.js';
import { assertProblem, deviceApp } from './fixture.js';

test('device: the hypervisor identity is asked on the HLOS\'s vCPU 0', async () => {
  const { device, http, close } = await deviceApp();
  const hlos = device.hyp.vms.get(VMID.HLOS)!;
  const before = { calls: hlos.vcpus[0]!.hypercalls, identify: device.hyp.stats.total(HC.hypervisor_identify) };
  assert.equal((await http.get('/v1/hypervisor').expect(200)).body.api_version, 1);
  assert.equal(hlos.vcpus[0]!.hypercalls, before.calls + 2);
  assert.equal(device.hyp.stats.total(HC.hypervisor_identify), before.identify + 1);
  await close();
});

test('device: the HLOS\'s RM link is a queue pair of depth 8 and 240-byte messages with the RM at the far end (spec §4.5)', async () => {
  const { http, close } = await deviceApp();
  const caps = (await http.get(`/v1/vms/${VMID.HLOS}/capabilities`).expect(200)).body;
  const queues = caps.filter((c: { type: string }) => c.type === 'msgqueue');
  assert.deepEqual(queues.map((c: { rights: string[]; send_vmids: number[]; receive_vmids: number[] }) => [c.rights, c.send_vmids, c.receive_vmids]), [
    [['send'], [VMID.HLOS, VMID.RM], [VMID.RM]],
    [['receive'], [VMID.RM], [VMID.HLOS, VMID.RM]],
  ]);
  const msgqs = (await http.get(`/v1/vms/${VMID.HLOS}/msgqs`).expect(200)).body;
  for (const q of msgqs) {
    assert.equal(q.depth, RM_RPC.QUEUE_DEPTH);
    assert.equal(q.max_msg_size, RM_RPC.MESSAGE_SIZE);
  }
  // The HLOS's tx queue raises "tx ready" on the HLOS's vIC and "rx pending" on the RM's (spec §4.5).
  assert.equal(msgqs[0].send_virq.vmid, VMID.HLOS);
  assert.equal(msgqs[0].receive_virq.vmid, VMID.RM);
  assert.equal(msgqs[1].receive_virq.vmid, VMID.HLOS);
  await close();
});

test('device: VM routes follow the RM\'s VM states: running and exited allowed, reset 409, deleted 404', async () => {
  const { device, http, close } = await deviceApp();
  const vm = (await device.hlos.createVm({ name: 'svm1', image: 'idle' }, { start: true })) as VmView;
  assert.equal(vm.status, 'running');
  const caps = `/v1/vms/${vm.vmid}/capabilities`;
  // The VM's RM link comes first: its tx and rx queues, the RM at the far end.
  const [tx, rx] = (await http.get(caps).expect(200)).body;
  assert.deepEqual([tx.type, tx.rights, tx.receive_vmids], ['msgqueue', ['send'], [VMID.RM]]);
  assert.deepEqual([rx.type, rx.rights, rx.send_vmids], ['msgqueue', ['receive'], [VMID.RM]]);
  await device.hlos.stopVm(vm.vmid);
  await http.get(caps).expect(200);
  await device.hlos.resetVm(vm.vmid);
  const conflict = assertProblem(await http.get(caps), 409, 'VM_STATE_CONFLICT');
  assert.match(conflict.detail, /is reset/);
  assertProblem(await http.post(`/v1/vms/${vm.vmid}/hypercall`).send({ function_id: '0xc6008000' }), 409, 'VM_STATE_CONFLICT');
  await device.hlos.deleteVm(vm.vmid);
  assertProblem(await http.get(caps), 404, 'VM_NOT_FOUND');
  await close();
});

test('device: the HLOS talks to a msgq-echo VM over the queue pair the RM gave them, and a blocking receive gets the echo', async () => {
  const { device, http, close } = await deviceApp();
  const vm = (await device.hlos.createVm({ name: 'echo', image: 'msgq-echo' }, { start: true })) as VmView;
  const msgqs = (await http.get(`/v1/vms/${VMID.HLOS}/msgqs`).expect(200)).body as { capid: string; rights: string[]; send_vmids: number[]; receive_vmids: number[] }[];
  const toVm = msgqs.find((q) => q.rights[0] === 'send' && q.receive_vmids.includes(vm.vmid))!;
  const fromVm = msgqs.find((q) => q.rights[0] === 'receive' && q.send_vmids.includes(vm.vmid))!;
  const echo = http.post(`/v1/vms/${VMID.HLOS}/msgqs/${fromVm.capid}/receive?timeout_ms=5000`).then((r) => r);
  await http.post(`/v1/vms/${VMID.HLOS}/msgqs/${toVm.capid}/send`).send({ data: 'ping' }).expect(200);
  const got = await echo;
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, { data: 'ping', encoding: 'utf8', size: 4, not_empty: false });
  await close();
});
