import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { allRights, rightNames } from '../../core/abi/objects.js';
import { HYP_RESOURCE_ENTRY_SIZE, HYP_RESOURCE_TYPE, RM_MSG, rmErrorName } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import { hvc } from '../../core/hyp/call.js';
import { VmGetHypResourcesReply, VmidRequest, type HypResource } from '../../core/rm/messages.js';
import type { Vm } from '../../core/vm/vm.js';
import { boot, createGuest, payload, settle, type RawClient } from './harness.js';

const T = HYP_RESOURCE_TYPE;
const vmidReq = (vmid: number) => payload(VmidRequest, { vmid });

async function resources(client: RawClient, vmid: number): Promise<HypResource[]> {
  const r = await client.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(vmid));
  assert.equal(rmErrorName(r.rmError), 'RM_OK');
  const v = VmGetHypResourcesReply.decode(r.data) as { entries: HypResource[] };
  assert.equal(r.data.length, 4 + v.entries.length * HYP_RESOURCE_ENTRY_SIZE, 'n_entries u32, then 44-byte entries');
  return v.entries;
}

function capOf(vm: Vm, capid: bigint) {
  const cap = vm.cspace.capAt(Number(capid & 0xffffffffn), Number(capid >> 32n));
  assert.ok(typeof cap !== 'number', `capid 0x${capid.toString(16)} is valid in VM ${vm.vmid}`);
  return cap;
}

const byType = (list: HypResource[], type: number) => list.find((e) => e.type === type)!;

test("the owner gets the VM's vCPUs, labelled by index, as caps in its own cspace, and its ends of the vdevices", async () => {
  const b = boot();
  const g = await createGuest(b, { vcpus: 2 });
  const list = await resources(b.hlos, g.vmid);
  assert.deepEqual(list.map((e) => [e.type, e.partnerVmid, e.resourceLabel]), [
    [T.VIRTUAL_CPU, g.vmid, 0], [T.VIRTUAL_CPU, g.vmid, 1],
    [T.MSG_QUEUE_RECV, g.vmid, 0], [T.MSG_QUEUE_SEND, g.vmid, 0], [T.DOORBELL, g.vmid, 0], [T.DOORBELL_SRC, g.vmid, 0],
  ]);
  const hlos = b.hyp.vms.get(VMID.HLOS)!;
  const vm = b.hyp.vms.get(g.vmid)!;
  list.slice(0, 2).forEach((e, i) => {
    const cap = capOf(hlos, e.capid);
    assert.equal(cap.object, vm.vcpus[i]);
    assert.equal(cap.rights, allRights('thread'));
  });
  assert.deepEqual(rightNames('msgqueue', capOf(hlos, byType(list, T.MSG_QUEUE_SEND).capid).rights), ['send']);
  assert.deepEqual(rightNames('msgqueue', capOf(hlos, byType(list, T.MSG_QUEUE_RECV).capid).rights), ['receive']);
  assert.deepEqual(rightNames('doorbell', capOf(hlos, byType(list, T.DOORBELL_SRC).capid).rights), ['send']);
  assert.deepEqual(rightNames('doorbell', capOf(hlos, byType(list, T.DOORBELL).capid).rights), ['receive']);
  assert.deepEqual(await resources(b.hlos, g.vmid), list, 'the same caps on a second request, not new copies');
});

test("the VM's own view (vmid 0): its ends of the queue and doorbell pairs, which reach the owner's", async () => {
  const b = boot();
  const g = await createGuest(b);
  const mine = await resources(g.rpc!, 0);
  assert.deepEqual(mine.map((e) => [e.type, e.partnerVmid]), [
    [T.MSG_QUEUE_SEND, VMID.HLOS], [T.MSG_QUEUE_RECV, VMID.HLOS], [T.DOORBELL_SRC, VMID.HLOS], [T.DOORBELL, VMID.HLOS],
  ]);
  const theirs = await resources(b.hlos, g.vmid);
  const hlos = b.hyp.vms.get(VMID.HLOS)!;
  const vm = b.hyp.vms.get(g.vmid)!;
  // HLOS -> VM on the queue: the VM's receive vIRQ fires and it receives the bytes
  const buf = g.base + PAGE_SIZE;
  const hlosBuf = 0x8000_0000 + (512 << 20);
  hlos.memory.writeBytes(hlosBuf, Uint8Array.of(1, 2, 3));
  const send = hvc(hlos.vcpus[0]!, 'msgqueue_send', [byType(theirs, T.MSG_QUEUE_SEND).capid, 3, hlosBuf, 0, 0]);
  assert.equal(send.err, GH_ERROR.OK);
  const rx = byType(mine, T.MSG_QUEUE_RECV);
  assert.equal(vm.vic.isPending(rx.virq), true);
  const got = hvc(vm.vcpus[0]!, 'msgqueue_receive', [rx.capid, buf, 240, 0]);
  assert.equal(got.err, GH_ERROR.OK);
  assert.deepEqual(vm.memory.readBytes(buf, 3), Uint8Array.of(1, 2, 3));
  // VM rings the owner's doorbell: the HLOS's DOORBELL vIRQ fires and it takes the flags
  assert.equal(hvc(vm.vcpus[0]!, 'doorbell_send', [byType(mine, T.DOORBELL_SRC).capid, 0b101, 0]).err, GH_ERROR.OK);
  const bell = byType(theirs, T.DOORBELL);
  assert.equal(hlos.vic.isPending(bell.virq), true);
  const taken = hvc(hlos.vcpus[0]!, 'doorbell_receive', [bell.capid, 0xffn, 0]);
  assert.equal(taken.x[1], 0b101n);
});

test('a reset VM takes its vdevices with it: the owner\'s caps go and its vIRQ numbers are reused', async () => {
  const b = boot();
  const g = await createGuest(b);
  const before = await resources(b.hlos, g.vmid);
  await b.hlos.call(RM_MSG.VM_RESET, vmidReq(g.vmid));
  await settle();
  const hlos = b.hyp.vms.get(VMID.HLOS)!;
  for (const e of before) {
    assert.equal(hlos.cspace.capAt(Number(e.capid & 0xffffffffn), Number(e.capid >> 32n)), GH_ERROR.CSPACE_CAP_NULL);
  }
  const next = await createGuest(b);
  const after = await resources(b.hlos, next.vmid);
  assert.deepEqual(after.map((e) => e.virq).sort(), before.map((e) => e.virq).sort());
});

test('only the VM and its owner may ask; unknown VMs are VMID_INVALID', async () => {
  const b = boot();
  const g = await createGuest(b);
  const other = await createGuest(b);
  assert.equal(rmErrorName((await g.rpc!.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(other.vmid))).rmError), 'RM_ERROR_DENIED');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(0x9f))).rmError), 'RM_ERROR_VMID_INVALID');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_GET_HYP_RESOURCES, new Uint8Array(2))).rmError), 'RM_ERROR_MSG_INVALID');
});
