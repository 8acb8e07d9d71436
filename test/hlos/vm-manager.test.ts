import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VmError } from '../../core/hlos/vm-manager.js';
import type { VmView } from '../../core/hlos/hlos.js';
import { eventually, testDevice } from './device-fixture.js';

const BRING_UP = ['VM_ALLOCATE', 'MEM_LEND', 'VM_CONFIG_IMAGE', 'VM_CONSOLE_OPEN', 'VM_INIT', 'VM_GET_HYP_RESOURCES', 'VM_START'];

const created = (r: VmView | VmError): VmView => {
  assert.ok(!(r instanceof VmError), r instanceof VmError ? `${r.code}: ${r.detail}` : '');
  return r;
};

test('bring-up sends the v6-v14 sequence and the VM runs its image', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = created(await dev.hlos.createVm({ name: 'svm1', image: 'idle', vcpus: 2 }));
  assert.deepEqual(dev.requests, BRING_UP);
  assert.equal(vm.vmid, 0x80); // the lowest dynamic VMID (spec §13.1)
  assert.equal(vm.status, 'running');
  assert.equal(vm.vcpus, 2);
  assert.equal(dev.hyp.vms.get(0x80)!.vcpus.length, 2);
  await eventually(() => dev.hlos.getVm(0x80)!.os_status === 'run', 2000, 'os_status RUN');
});

test('the image header goes at the start of the lent parcel, which the HLOS can no longer touch', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = created(await dev.hlos.createVm({ name: 'svm1', image: 'idle', memory: 64 << 10 }));
  assert.deepEqual(vm.memory, { base: 0x8000_0000, size: 64 << 10 });
  const hlosMemory = dev.system.hlos.vm.memory;
  assert.equal(typeof hlosMemory.readBytes(vm.memory!.base, 4), 'number', 'lent memory is not readable by the lender');
  const inGuest = dev.hyp.vms.get(vm.vmid)!.memory.readBytes(vm.memory!.base, 4) as Uint8Array;
  assert.equal(new TextDecoder().decode(inGuest), 'GEMU');
});

test('delete of a running VM: VM_STOP (FORCE, reason 3), VM_RESET, MEM_RECLAIM, VM_DEALLOCATE, memory back', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const before = dev.hlos.memory.available;
  const vm = created(await dev.hlos.createVm({ name: 'svm1', image: 'idle' }));
  dev.requests.length = 0;
  const exited = dev.next('vm-exited', (e) => e.vmid === vm.vmid);
  assert.deepEqual(await dev.hlos.deleteVm(vm.vmid), { vmid: vm.vmid });
  assert.deepEqual(dev.requests, ['VM_STOP', 'VM_RESET', 'MEM_RECLAIM', 'VM_DEALLOCATE']);
  assert.equal((await exited).exitType, 7); // VM_STOP_FORCED (spec §9.5)
  assert.equal(dev.hlos.getVm(vm.vmid), undefined);
  assert.equal(dev.system.rm.lookup(vm.vmid), undefined);
  assert.equal(dev.hyp.vms.has(vm.vmid), false);
  assert.equal(dev.hlos.memory.available, before);
});

test('stop, reset and start again: the VM comes back from RESET with a fresh parcel', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = created(await dev.hlos.createVm({ name: 'svm1', image: 'idle' }));
  assert.equal(created(await dev.hlos.stopVm(vm.vmid)).status, 'exited');
  const reset = created(await dev.hlos.resetVm(vm.vmid));
  assert.equal(reset.status, 'reset');
  assert.equal(reset.memory, null);
  dev.requests.length = 0;
  const again = created(await dev.hlos.startVm(vm.vmid));
  assert.equal(again.status, 'running');
  assert.deepEqual(dev.requests, BRING_UP.slice(1));
});

test('an unknown image fails VM_INIT as the RM fails a bad image, and everything is undone', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const before = dev.hlos.memory.available;
  const r = await dev.hlos.createVm({ name: 'bad', image: 'no-such-image' });
  assert.ok(r instanceof VmError);
  assert.equal(r.code, 'RM_CALL_FAILED');
  assert.equal(r.failure?.code, 'RM_ERROR_MEM_INVALID');
  assert.equal(r.failure?.msgId, 0x5600000b); // VM_INIT
  assert.deepEqual(r.rollbackFailures, []);
  assert.deepEqual(dev.requests, [...BRING_UP.slice(0, 5), 'VM_RESET', 'MEM_RECLAIM', 'VM_DEALLOCATE']);
  assert.match(dev.loader.refusals.get(0x80)!, /unknown image "no-such-image"/);
  assert.equal(dev.hlos.listVms().length, 2); // the RM and the HLOS
  assert.equal(dev.hlos.memory.available, before);
});

test('bad image parameters are refused by the loader, VM_INIT fails', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const r = await dev.hlos.createVm({ name: 't', image: 'traffic', params: { rate: 0 } });
  assert.ok(r instanceof VmError);
  assert.equal(r.failure?.code, 'RM_ERROR_MEM_INVALID');
  assert.match(dev.loader.refusals.get(0x80)!, /parameter "rate" must be from 1 to 10000/);
});

test('a stalled RM: the step times out, the bring-up is rolled back and nothing is left pending', async (t) => {
  const dev = testDevice({ timeoutMs: 100 });
  t.after(() => dev.close());
  dev.stall('VM_START');
  const r = await dev.hlos.createVm({ name: 'svm1', image: 'idle' });
  assert.ok(r instanceof VmError);
  assert.equal(r.failure?.reason, 'timeout');
  assert.equal(r.failure?.message, 'VM_START: timeout (no reply within 100 ms)');
  assert.deepEqual(dev.requests.slice(-3), ['VM_RESET', 'MEM_RECLAIM', 'VM_DEALLOCATE']);
  assert.equal(dev.hlos.client.pendingCount, 0);
  assert.equal(dev.hlos.client.stats.count('VM_START', 'timeout'), 1);
  assert.equal(dev.hlos.vms.list().length, 0);
});

test('operations the VM state does not allow are conflicts; unknown VMIDs are not found', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = created(await dev.hlos.createVm({ name: 'svm1', image: 'idle' }));
  const conflict = (await dev.hlos.resetVm(vm.vmid)) as VmError;
  assert.equal(conflict.code, 'VM_STATE_CONFLICT');
  assert.equal(conflict.detail, 'VM 128 is running; this needs exited or ready or init_failed');
  assert.equal(((await dev.hlos.startVm(vm.vmid)) as VmError).code, 'VM_STATE_CONFLICT');
  assert.equal(((await dev.hlos.stopVm(0x99)) as VmError).code, 'NOT_FOUND');
  const stopping = dev.hlos.stopVm(vm.vmid);
  assert.equal(((await dev.hlos.deleteVm(vm.vmid)) as VmError).detail, 'another operation on VM 128 is in progress');
  created(await stopping);
});

test('a bad VM spec is refused before any RM call, naming the field', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const field = async (spec: Parameters<typeof dev.hlos.createVm>[0]) => ((await dev.hlos.createVm(spec)) as VmError).field;
  assert.equal(await field({ name: '', image: 'idle' }), 'name');
  assert.equal(await field({ name: 'a b', image: 'idle' }), 'name');
  assert.equal(await field({ name: 'ok', image: '' }), 'image');
  assert.equal(await field({ name: 'ok', image: 'idle', vcpus: 0 }), 'vcpus');
  assert.equal(await field({ name: 'ok', image: 'idle', memory: 5000 }), 'memory');
  assert.equal(await field({ name: 'ok', image: 'idle', vmid: 200 }), 'vmid');
  assert.equal(await field({ name: 'ok', image: 'Not An Image' }), 'image');
  assert.deepEqual(dev.requests, []);
  created(await dev.hlos.createVm({ name: 'ok', image: 'idle' }));
  assert.equal(((await dev.hlos.createVm({ name: 'ok', image: 'idle' })) as VmError).code, 'NAME_IN_USE');
});

test('a fixed VMID below 64 can be asked for', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = created(await dev.hlos.createVm({ name: 'fixed', image: 'idle', vmid: 42 }));
  assert.equal(vm.vmid, 42);
});
