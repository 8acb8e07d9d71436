import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import {
  EXIT_TYPE, OS_STATUS, RM_MSG, RM_NOTIF, VM_EXIT_CODE, VM_STATUS, VM_STATUS_NAMES, rmErrorName,
  type VmStatus,
} from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import {
  MemReclaimRequest, VmConfigImageRequest, VmExitedNotification, VmExitRequest, VmGetStateReply, VmidRequest,
  VmSetStatusRequest, VmShutdownNotification, VmStatusNotification, VmStopRequest,
} from '../../core/rm/messages.js';
import { ALL_VM_STATUSES, stateChangeValid } from '../../core/rm/vm-state.js';
import { boot, createGuest, payload, settle, type Booted, type Guest } from './harness.js';

const S = VM_STATUS;
const vmidReq = (vmid: number) => payload(VmidRequest, { vmid });
const errName = (r: { rmError: number }) => rmErrorName(r.rmError);

/** VM_STATUS notifications the HLOS received so far, as "vmid:STATUS" strings. */
function statuses(b: Booted): string[] {
  return b.hlos.takeNotifications(RM_NOTIF.VM_STATUS).map((n) => {
    const v = VmStatusNotification.decode(n.payload) as { vmid: number; vmStatus: number };
    return `${v.vmid}:${VM_STATUS_NAMES.get(v.vmStatus as VmStatus)}`;
  });
}

async function state(b: Booted, vmid: number) {
  const r = await b.hlos.call(RM_MSG.VM_GET_STATE, vmidReq(vmid));
  assert.equal(errName(r), 'RM_OK');
  return VmGetStateReply.decode(r.data) as { vmStatus: number; osStatus: number; appStatus: number };
}

async function started(b: Booted, spec: Parameters<typeof createGuest>[1] = {}): Promise<Guest> {
  const g = await createGuest(b, spec);
  const r = await b.hlos.call(RM_MSG.VM_START, vmidReq(g.vmid));
  assert.equal(errName(r), 'RM_OK', 'VM_START');
  await settle();
  return g;
}

test('the §9.5 table: exactly the transitions vm_mgnt_state_change_valid allows', () => {
  const legal = new Set([
    'NO_STATE>LOAD', 'LOAD>AUTH', 'LOAD>INIT', 'AUTH>INIT', 'RESET>INIT', 'RESET>AUTH', 'RESET>NO_STATE',
    'INIT>READY', 'READY>RUNNING', 'PAUSED>RUNNING', 'RUNNING>PAUSED', 'RUNNING>EXITED', 'PAUSED>EXITED',
    'INIT>INIT_FAILED', 'READY>INIT_FAILED', 'LOAD>INIT_FAILED', 'AUTH>INIT_FAILED', 'RESET>INIT_FAILED',
    'EXITED>RESETTING', 'READY>RESETTING', 'INIT_FAILED>RESETTING', 'RESETTING>RESET',
  ]);
  for (const from of ALL_VM_STATUSES) {
    for (const to of ALL_VM_STATUSES) {
      const name = `${VM_STATUS_NAMES.get(from)}>${VM_STATUS_NAMES.get(to)}`;
      assert.equal(stateChangeValid(from, to), legal.has(name), name);
    }
  }
});

test('bring-up in the §9.7 order: LOAD, INIT after VM_CONFIG_IMAGE, READY after VM_INIT, RUNNING after VM_START', async () => {
  const b = boot();
  const g = await createGuest(b, { until: 'allocated' });
  assert.equal(g.vmid, 0x80, 'the lowest free dynamic VMID');
  assert.equal((await state(b, g.vmid)).vmStatus, S.LOAD);
  assert.deepEqual(statuses(b), [], 'a new VM starts in LOAD unannounced');
  const ready = await createGuest(b);
  assert.equal(ready.vmid, 0x81);
  assert.deepEqual(statuses(b), ['129:INIT', '129:READY']);
  assert.equal(b.rm.lookup(ready.vmid)!.imageName, 'test-exit');
  assert.equal(b.hyp.vms.get(ready.vmid)!.vcpus.length, 1);
  const r = await b.hlos.call(RM_MSG.VM_START, vmidReq(ready.vmid));
  assert.equal(errName(r), 'RM_OK');
  await settle();
  assert.deepEqual(b.ran, [ready.vmid], "vCPU 0 powered on at the image's entry ran its program");
  assert.deepEqual(statuses(b), ['129:RUNNING']);
  assert.deepEqual(await state(b, ready.vmid), { vmStatus: S.RUNNING, osStatus: 0, appStatus: 0 });
});

test('VM_INIT builds the VM with the vCPUs the image asks for and maps the lent parcel where the HLOS has it', async () => {
  const b = boot();
  const g = await createGuest(b, { vcpus: 3 });
  const vm = b.hyp.vms.get(g.vmid)!;
  assert.equal(vm.vcpus.length, 3);
  const hlos = b.hyp.vms.get(VMID.HLOS)!;
  assert.equal(hlos.memory.writeBytes(g.base, Uint8Array.of(1)), GH_ERROR.ADDR_INVALID, 'the HLOS lent the range away');
  assert.equal(vm.memory.writeBytes(g.base + PAGE_SIZE, Uint8Array.of(7)), GH_ERROR.OK, 'the VM has it read-write');
  assert.deepEqual(vm.memory.readBytes(g.base, 4), Uint8Array.of(0x54, 0x45, 0x53, 0x54));
  assert.equal(b.rm.lookup(g.vmid)!.entry, BigInt(g.base));
});

test('illegal lifecycle requests are RM_ERROR_VM_STATE', async () => {
  const b = boot();
  const loaded = await createGuest(b, { until: 'allocated' });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_START, vmidReq(loaded.vmid))), 'RM_ERROR_VM_STATE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_INIT, vmidReq(loaded.vmid))), 'RM_ERROR_VM_STATE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_RESET, vmidReq(loaded.vmid))), 'RM_ERROR_VM_STATE');
  const stop = payload(VmStopRequest, { vmid: loaded.vmid, flags: 1, stopReason: 3 });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_STOP, stop)), 'RM_ERROR_VM_STATE');
  const ready = await createGuest(b);
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_INIT, vmidReq(ready.vmid))), 'RM_ERROR_VM_STATE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_DEALLOCATE, vmidReq(ready.vmid))), 'RM_ERROR_VM_STATE');
  const config = payload(VmConfigImageRequest, {
    vmid: ready.vmid, auth: 0, memHandle: ready.handle!, imageOffset: 0n, imageSize: 4096n, dtbOffset: 0n, dtbSize: 0n,
  });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, config)), 'RM_ERROR_VM_STATE');
  const stopReady = payload(VmStopRequest, { vmid: ready.vmid, flags: 1, stopReason: 3 });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_STOP, stopReady)), 'RM_ERROR_VM_STATE');
  const running = await started(b);
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_START, vmidReq(running.vmid))), 'RM_ERROR_VM_STATE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_RESET, vmidReq(running.vmid))), 'RM_ERROR_VM_STATE');
});

test('VM_STOP with FORCE: EXITED, and VM_EXITED (VM_STOP_FORCED) to the owner', async () => {
  const b = boot();
  const g = await started(b);
  statuses(b);
  const r = await b.hlos.call(RM_MSG.VM_STOP, payload(VmStopRequest, { vmid: g.vmid, flags: 1, stopReason: 3 }));
  assert.equal(errName(r), 'RM_OK');
  await settle();
  assert.deepEqual(statuses(b), ['128:EXITED']);
  const [exited] = b.hlos.takeNotifications(RM_NOTIF.VM_EXITED);
  const v = VmExitedNotification.decode(exited!.payload) as { vmid: number; exitType: number; reason: Uint8Array };
  assert.equal(v.vmid, g.vmid);
  assert.equal(v.exitType, EXIT_TYPE.VM_STOP_FORCED);
  assert.deepEqual(v.reason, Uint8Array.of(0, 0, 0, 0), 'flags 0, exit code NORMAL');
  assert.ok(b.hyp.vms.get(g.vmid)!.vcpus.every((v) => v.killed), 'every vCPU was killed');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_STOP, payload(VmStopRequest, { vmid: g.vmid, flags: 1, stopReason: 3 }))), 'RM_ERROR_VM_STATE');
});

test('VM_STOP without FORCE asks the VM with VM_SHUTDOWN and leaves it RUNNING', async () => {
  const b = boot();
  const g = await started(b);
  const r = await b.hlos.call(RM_MSG.VM_STOP, payload(VmStopRequest, { vmid: g.vmid, flags: 0, stopReason: 0x55 }));
  assert.equal(errName(r), 'RM_OK');
  await settle();
  const [shutdown] = g.rpc!.takeNotifications(RM_NOTIF.VM_SHUTDOWN);
  assert.deepEqual(VmShutdownNotification.decode(shutdown!.payload), { stopReason: 0x55 });
  assert.equal((await state(b, g.vmid)).vmStatus, S.RUNNING);
});

test('VM_STOP, VM_RESET and VM_START of a VM the requester does not own', async () => {
  const b = boot();
  const g = await started(b);
  const self = payload(VmStopRequest, { vmid: g.vmid, flags: 1, stopReason: 0 });
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_STOP, self)), 'RM_ERROR_VMID_INVALID');
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_RESET, vmidReq(g.vmid))), 'RM_ERROR_VMID_INVALID');
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_START, vmidReq(g.vmid))), 'RM_ERROR_DENIED');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_STOP, payload(VmStopRequest, { vmid: 0x99, flags: 1, stopReason: 0 }))), 'RM_ERROR_VMID_INVALID');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_START, vmidReq(0x99))), 'RM_ERROR_VMID_INVALID');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_STOP, Uint8Array.of(g.vmid, 0, 1, 0))), 'RM_ERROR_MSG_INVALID');
});

test('VM_RESET: RESETTING, then the VM is torn down and RESET; its memory can be reclaimed and its VMID freed', async () => {
  const b = boot();
  const g = await started(b);
  await b.hlos.call(RM_MSG.VM_STOP, payload(VmStopRequest, { vmid: g.vmid, flags: 1, stopReason: 3 }));
  statuses(b);
  const r = await b.hlos.call(RM_MSG.VM_RESET, vmidReq(g.vmid));
  assert.equal(errName(r), 'RM_OK');
  await settle();
  assert.deepEqual(statuses(b), ['128:RESETTING', '128:RESET']);
  assert.equal(b.hyp.vms.has(g.vmid), false, 'the hypervisor VM is gone');
  assert.equal(b.rm.linkOf(g.vmid), null, 'and its RM link');
  const reclaim = await b.hlos.call(RM_MSG.MEM_RECLAIM, payload(MemReclaimRequest, { handle: g.handle!, flags: 0 }));
  assert.equal(errName(reclaim), 'RM_OK', 'the VM no longer holds the parcel');
  assert.equal(b.hyp.vms.get(VMID.HLOS)!.memory.writeBytes(g.base, Uint8Array.of(1)), GH_ERROR.OK);
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_DEALLOCATE, vmidReq(g.vmid))), 'RM_OK');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_GET_STATE, vmidReq(g.vmid))), 'RM_ERROR_NORESOURCE');
  const again = await createGuest(b, { until: 'allocated' });
  assert.equal(again.vmid, g.vmid, 'the VMID is free again');
});

test('a reset VM can be configured and started again', async () => {
  const b = boot();
  const g = await createGuest(b);
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_RESET, vmidReq(g.vmid))), 'RM_OK');
  await settle();
  const config = payload(VmConfigImageRequest, {
    vmid: g.vmid, auth: 0, memHandle: g.handle!, imageOffset: 0n, imageSize: BigInt(g.size - PAGE_SIZE),
    dtbOffset: BigInt(g.size - PAGE_SIZE), dtbSize: BigInt(PAGE_SIZE),
  });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, config)), 'RM_OK');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_INIT, vmidReq(g.vmid))), 'RM_OK');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_START, vmidReq(g.vmid))), 'RM_OK');
  await settle();
  assert.deepEqual(b.ran, [g.vmid]);
});

test('VM_EXIT: the VM exits by itself; its owner gets VM_EXITED with the flags and exit code', async () => {
  const b = boot();
  const g = await started(b);
  const bad = await g.rpc!.call(RM_MSG.VM_EXIT, Uint8Array.of(0, 0, VM_EXIT_CODE.UNKNOWN, 0));
  assert.equal(errName(bad), 'RM_ERROR_MSG_INVALID', 'exit code 2 (UNKNOWN) is refused');
  const r = await g.rpc!.call(RM_MSG.VM_EXIT, payload(VmExitRequest, { exitFlags: 1, exitCode: VM_EXIT_CODE.BUS_ERROR }));
  assert.equal(errName(r), 'RM_OK');
  await settle();
  const [exited] = b.hlos.takeNotifications(RM_NOTIF.VM_EXITED);
  const v = VmExitedNotification.decode(exited!.payload) as { exitType: number; reason: Uint8Array };
  assert.equal(v.exitType, EXIT_TYPE.VM_EXIT);
  assert.deepEqual(v.reason, Uint8Array.of(1, 0, VM_EXIT_CODE.BUS_ERROR, 0), 'exit_flags | exit_code << 16');
  assert.equal((await state(b, g.vmid)).vmStatus, S.EXITED);
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_EXIT, payload(VmExitRequest, { exitFlags: 0, exitCode: 0 }))), 'RM_ERROR_DENIED');
});

test('VM_SET_STATUS: a secondary VM reports os and app status; the owner gets VM_STATUS; the HLOS may not', async () => {
  const b = boot();
  const g = await started(b);
  statuses(b);
  const set = (osStatus: number, appStatus: number) => payload(VmSetStatusRequest, { osStatus, appStatus });
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_SET_STATUS, set(OS_STATUS.RUN, 0x1234))), 'RM_OK');
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_SET_STATUS, set(0, 0x99))), 'RM_OK', 'os_status 0 keeps RUN');
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_SET_STATUS, set(8, 0))), 'RM_ERROR_ARGUMENT_INVALID');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_SET_STATUS, set(OS_STATUS.RUN, 0))), 'RM_ERROR_DENIED');
  await settle();
  const notes = b.hlos.takeNotifications(RM_NOTIF.VM_STATUS).map((n) => VmStatusNotification.decode(n.payload));
  assert.deepEqual(notes, [
    { vmid: g.vmid, vmStatus: S.RUNNING, osStatus: OS_STATUS.RUN, appStatus: 0x1234 },
    { vmid: g.vmid, vmStatus: S.RUNNING, osStatus: OS_STATUS.RUN, appStatus: 0x99 },
  ]);
  assert.deepEqual(await state(b, g.vmid), { vmStatus: S.RUNNING, osStatus: OS_STATUS.RUN, appStatus: 0x99 });
});

test('a vCPU fault crashes the VM: os_status CRASHED, EXITED, VM_EXITED (SOFTWARE_ERROR) to the owner', async () => {
  const b = boot();
  const g = await started(b, { program: 'throw' });
  for (let i = 0; i < 5; i++) await settle();
  assert.deepEqual(await state(b, g.vmid), { vmStatus: S.EXITED, osStatus: OS_STATUS.CRASHED, appStatus: 0 });
  const [exited] = b.hlos.takeNotifications(RM_NOTIF.VM_EXITED);
  const v = VmExitedNotification.decode(exited!.payload) as { exitType: number; reason: Uint8Array };
  assert.equal(v.exitType, EXIT_TYPE.SOFTWARE_ERROR);
  assert.deepEqual(v.reason, Uint8Array.of(0, 0, VM_EXIT_CODE.SW_ERROR, 0));
});

test('an image the loader refuses fails VM_INIT with RM_ERROR_MEM_INVALID and leaves the VM INIT_FAILED', async () => {
  const b = boot();
  const g = await createGuest(b, { image: new TextEncoder().encode('not an image'), until: 'configured' });
  statuses(b);
  const r = await b.hlos.call(RM_MSG.VM_INIT, vmidReq(g.vmid));
  assert.equal(errName(r), 'RM_ERROR_MEM_INVALID');
  assert.deepEqual(statuses(b), ['128:INIT_FAILED']);
  assert.equal(b.hyp.vms.has(g.vmid), false, 'nothing is left built');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_RESET, vmidReq(g.vmid))), 'RM_OK', 'INIT_FAILED can be reset');
});

test('VM_CONFIG_IMAGE checks the parcel: not lent to the VM is MEM_INVALID, ranges outside it ARGUMENT_INVALID', async () => {
  const b = boot();
  const config = (vmid: number, memHandle: number, imageSize: bigint) => payload(VmConfigImageRequest, {
    vmid, auth: 0, memHandle, imageOffset: 0n, imageSize, dtbOffset: 0n, dtbSize: 0n,
  });
  const a = await createGuest(b, { until: 'lent' });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, config(a.vmid, 0x77, 4096n))), 'RM_ERROR_MEM_INVALID');
  assert.equal((await state(b, a.vmid)).vmStatus, S.INIT_FAILED);
  const c = await createGuest(b, { until: 'lent' });
  const tooBig = BigInt(c.size + 1);
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, config(c.vmid, c.handle!, tooBig))), 'RM_ERROR_ARGUMENT_INVALID');
  const d = await createGuest(b, { until: 'lent' });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, config(d.vmid, c.handle!, 4096n))), 'RM_ERROR_MEM_INVALID',
    "another VM's parcel");
  const bad = await createGuest(b, { until: 'allocated' });
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, new Uint8Array(39))), 'RM_ERROR_MSG_INVALID');
  assert.equal((await state(b, bad.vmid)).vmStatus, S.LOAD);
});

test('VM_ALLOCATE: HLOS only, dynamic VMIDs lowest free and replied as u32, fixed ones below 64 only once', async () => {
  const b = boot();
  const g = await started(b);
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_ALLOCATE, vmidReq(0))), 'RM_ERROR_DENIED');
  const fixed = await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(5));
  assert.equal(errName(fixed), 'RM_OK');
  assert.equal(fixed.data.length, 0, 'no data for a fixed VMID');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(5))), 'RM_ERROR_NORESOURCE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(VMID.HLOS))), 'RM_ERROR_NORESOURCE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(64))), 'RM_ERROR_NORESOURCE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_ALLOCATE, Uint8Array.of(0, 0))), 'RM_ERROR_MSG_INVALID');
  const vmids: number[] = [];
  for (let i = 0; i < 63; i++) {
    const r = await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(0));
    vmids.push(new DataView(r.data.buffer, r.data.byteOffset).getUint32(0, true));
  }
  assert.deepEqual(vmids, Array.from({ length: 63 }, (_, i) => 0x81 + i));
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(0))), 'RM_ERROR_NORESOURCE', '0x80-0xBF all taken');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_DEALLOCATE, vmidReq(0x90))), 'RM_OK');
  const reuse = await b.hlos.call(RM_MSG.VM_ALLOCATE, vmidReq(0));
  assert.deepEqual(reuse.data, Uint8Array.of(0x90, 0, 0, 0));
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_DEALLOCATE, vmidReq(0x91))), 'RM_ERROR_DENIED', 'owner only');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_DEALLOCATE, vmidReq(0xc5))), 'RM_ERROR_VMID_INVALID');
});

test('VM_GET_STATE: vmid 0 is self; the VM and its owner may ask; unknown VMs are NORESOURCE', async () => {
  const b = boot();
  const g = await started(b);
  const self = await g.rpc!.call(RM_MSG.VM_GET_STATE, vmidReq(0));
  assert.deepEqual(VmGetStateReply.decode(self.data), { vmStatus: S.RUNNING, osStatus: 0, appStatus: 0 });
  assert.equal(errName(await g.rpc!.call(RM_MSG.VM_GET_STATE, vmidReq(VMID.HLOS))), 'RM_ERROR_DENIED');
  const hlosSelf = await b.hlos.call(RM_MSG.VM_GET_STATE, vmidReq(0));
  assert.deepEqual(hlosSelf.data, Uint8Array.of(S.RUNNING, 0, 0, 0), 'u32 vm_state | os_state << 8 | app_status << 16');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_GET_STATE, vmidReq(0x42))), 'RM_ERROR_NORESOURCE');
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_GET_STATE, new Uint8Array(0))), 'RM_ERROR_MSG_INVALID');
});

test('VM_GET_VMID and VM_HOST_GET_TYPE', async () => {
  const b = boot();
  const g = await started(b);
  assert.deepEqual((await g.rpc!.call(RM_MSG.VM_GET_VMID)).data, Uint8Array.of(g.vmid, 0, 0, 0));
  assert.deepEqual((await b.hlos.call(RM_MSG.VM_HOST_GET_TYPE)).data, Uint8Array.of(0x64, 0x01, 0x00, 0x01));
  assert.equal(errName(await b.hlos.call(RM_MSG.VM_HOST_GET_TYPE, Uint8Array.of(0))), 'RM_ERROR_MSG_INVALID');
});
