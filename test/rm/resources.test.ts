import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYP_RESOURCE_ENTRY_SIZE, HYP_RESOURCE_TYPE, RM_MSG, rmErrorName } from '../../core/abi/rm.js';
import { allRights } from '../../core/abi/objects.js';
import { VMID } from '../../core/abi/vmid.js';
import { VmGetHypResourcesReply, VmidRequest, type HypResource } from '../../core/rm/messages.js';
import { boot, createGuest, payload } from './harness.js';

const vmidReq = (vmid: number) => payload(VmidRequest, { vmid });

test("VM_GET_HYP_RESOURCES: the owner gets the VM's vCPUs, labelled by index, as caps in its own cspace", async () => {
  const b = boot();
  const g = await createGuest(b, { vcpus: 2 });
  const r = await b.hlos.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(g.vmid));
  assert.equal(rmErrorName(r.rmError), 'RM_OK');
  assert.equal(r.data.length, 4 + 2 * HYP_RESOURCE_ENTRY_SIZE, 'n_entries u32, then 44-byte entries');
  const { entries } = VmGetHypResourcesReply.decode(r.data) as { entries: HypResource[] };
  assert.deepEqual(entries.map((e) => [e.type, e.partnerVmid, e.resourceLabel]), [
    [HYP_RESOURCE_TYPE.VIRTUAL_CPU, g.vmid, 0],
    [HYP_RESOURCE_TYPE.VIRTUAL_CPU, g.vmid, 1],
  ]);
  const hlos = b.hyp.vms.get(VMID.HLOS)!;
  const vm = b.hyp.vms.get(g.vmid)!;
  entries.forEach((e, i) => {
    const cap = hlos.cspace.capAt(Number(e.capid & 0xffffffffn), Number(e.capid >> 32n));
    assert.ok(typeof cap !== 'number', 'the capid is valid in the HLOS cspace');
    assert.equal(cap.object, vm.vcpus[i]);
    assert.equal(cap.rights, allRights('thread'));
  });
  const again = await b.hlos.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(g.vmid));
  assert.deepEqual(again.data, r.data, 'the same caps, not new copies');
});

test('VM_GET_HYP_RESOURCES: a VM asking about itself gets no vCPUs; others may not ask; unknown is VMID_INVALID', async () => {
  const b = boot();
  const g = await createGuest(b);
  const self = await g.rpc!.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(0));
  assert.deepEqual(self.data, Uint8Array.of(0, 0, 0, 0));
  const other = await createGuest(b);
  assert.equal(rmErrorName((await g.rpc!.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(other.vmid))).rmError), 'RM_ERROR_DENIED');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(0x9f))).rmError), 'RM_ERROR_VMID_INVALID');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_GET_HYP_RESOURCES, new Uint8Array(2))).rmError), 'RM_ERROR_MSG_INVALID');
});
