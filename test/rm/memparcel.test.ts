import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import {
  MEM_ACCEPT_FLAG, MEM_ACL_RIGHT, MEM_NOTIFY_FLAG, MEM_SHARE_FLAG, MEM_TRANS_TYPE, RM_MSG, RM_NOTIF, rmErrorName,
} from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import { hvc } from '../../core/hyp/call.js';
import { HLOS_RAM } from '../../core/rm/boot.js';
import {
  MemAcceptedNotification, MemAcceptReply, MemAcceptRequest, MemAppendRequest, MemHandleReply, MemNotifyRequest,
  MemparcelCreateRequest, MemReclaimRequest, MemReleasedNotification, MemReleaseRequest, MemSharedNotification,
  VmConsoleWriteRequest, VmidRequest, type AclEntry, type SglEntry,
} from '../../core/rm/messages.js';
import { boot, createGuest, payload, settle, type RawClient } from './harness.js';

const { R, W, X } = MEM_ACL_RIGHT;
/** Ranges of HLOS RAM for these parcels, well above what createGuest lends. */
const FREE = HLOS_RAM.base + (256 << 20);
const errName = (r: { rmError: number }) => rmErrorName(r.rmError);

function createReq(acl: AclEntry[], sgl: SglEntry[], flags = 0, label = 0) {
  return payload(MemparcelCreateRequest, { memType: 0, flags, label, acl, sgl, attrs: [] });
}
const range = (ipa: number, size = PAGE_SIZE): SglEntry => ({ ipa: BigInt(ipa), size: BigInt(size) });

async function create(client: RawClient, msgId: number, body: Uint8Array): Promise<number> {
  return (await client.ok(msgId, body, MemHandleReply)).handle;
}

function acceptReq(handle: number, transType: number, opts: { flags?: number; acl?: AclEntry[]; label?: number; sgl?: SglEntry[] } = {}) {
  return payload(MemAcceptRequest, {
    handle, memType: 0, transType, flags: opts.flags ?? 0, label: opts.label ?? 0, acl: opts.acl ?? [],
    sgl: opts.sgl ?? [], mapVmid: 0, attrs: [],
  });
}

async function withGuest() {
  const b = boot();
  const g = await createGuest(b);
  return { b, g, guest: g.rpc!, hlosVm: b.hyp.vms.get(VMID.HLOS)!, guestVm: b.hyp.vms.get(g.vmid)! };
}

async function notes(client: RawClient, msgId: number) {
  await settle();
  return client.takeNotifications(msgId);
}

test('MEM_LEND: the lender loses the range; the borrower hears MEM_SHARED, accepts and gets exactly its rights', async () => {
  const { b, g, guest, hlosVm, guestVm } = await withGuest();
  assert.equal(hlosVm.memory.writeBytes(FREE, Uint8Array.of(0xaa)), GH_ERROR.OK);
  const handle = await create(b.hlos, RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R | W }], [range(FREE)], 0, 0x42));
  assert.equal(hlosVm.memory.writeBytes(FREE, Uint8Array.of(1)), GH_ERROR.ADDR_INVALID, 'lent: the HLOS has no access');
  assert.equal(hlosVm.memory.readBytes(FREE, 1), GH_ERROR.ADDR_INVALID);
  const [shared] = await notes(guest, RM_NOTIF.MEM_SHARED);
  assert.deepEqual(MemSharedNotification.decode(shared!.payload), {
    handle, memType: 0, transType: MEM_TRANS_TYPE.LEND, flags: 0, ownerVmid: VMID.HLOS, label: 0x42, memInfoTag: 0,
    acl: [{ vmid: g.vmid, rights: R | W }], sgl: [range(FREE)], attrs: [],
  });
  const reply = await guest.ok(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.LEND), MemAcceptReply);
  assert.deepEqual(reply, { flags: 0, sgl: [range(FREE)] }, 'mapped where the HLOS has it');
  assert.deepEqual(guestVm.memory.readBytes(FREE, 1), Uint8Array.of(0xaa), 'the same page');
  assert.equal(guestVm.memory.writeBytes(FREE, Uint8Array.of(0xbb)), GH_ERROR.OK);
  assert.equal(guestVm.memory.accessible(FREE, 1, X), false, 'RW, not executable');
  const [accepted] = await notes(b.hlos, RM_NOTIF.MEM_ACCEPTED);
  assert.deepEqual(MemAcceptedNotification.decode(accepted!.payload), { handle, vmid: g.vmid, memInfoTag: 0 });
});

test('a read-only share: the hypervisor refuses the borrower every write, hypercalls included (ADDR_INVALID)', async () => {
  const { b, g, guest, hlosVm, guestVm } = await withGuest();
  // The guest's console gets a character from the HLOS, so its RX queue holds a packet to receive.
  await guest.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: 0 }));
  await b.hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: g.vmid }));
  const handle = await create(b.hlos, RM_MSG.MEM_SHARE, createReq([{ vmid: VMID.HLOS, rights: R | W }, { vmid: g.vmid, rights: R }], [range(FREE)]));
  assert.equal(hlosVm.memory.writeBytes(FREE, Uint8Array.of(5)), GH_ERROR.OK, 'a share keeps the owner its rights');
  await guest.ok(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.SHARE), MemAcceptReply);
  assert.deepEqual(guestVm.memory.readBytes(FREE, 1), Uint8Array.of(5));
  assert.equal(guestVm.memory.writeBytes(FREE, Uint8Array.of(6)), GH_ERROR.ADDR_INVALID);
  guest.port.close(); // the test drives the guest's queue by hand now
  await b.hlos.call(RM_MSG.VM_CONSOLE_WRITE, payload(VmConsoleWriteRequest, { vmid: g.vmid, bytes: Uint8Array.of(0x41) }));
  const rx = b.rm.linkOf(g.vmid)!.rxCapid;
  const vcpu = guestVm.vcpus[0]!;
  assert.equal(hvc(vcpu, 'msgqueue_receive', [rx, FREE, 240, 0]).err, GH_ERROR.ADDR_INVALID, 'into the read-only page');
  assert.equal(hvc(vcpu, 'msgqueue_receive', [rx, g.base + PAGE_SIZE, 240, 0]).err, GH_ERROR.OK, 'into its own RAM');
});

test('ACL rights other than R, RX, RW and RWX are ARGUMENT_INVALID', async () => {
  const { b, g } = await withGuest();
  for (const rights of [W, X, W | X, 0]) {
    const body = createReq([{ vmid: g.vmid, rights: R }], [range(FREE)]);
    body[8 + 4 + 2] = rights; // the first ACL entry's rights byte
    const r = await b.hlos.call(RM_MSG.MEM_LEND, body);
    assert.equal(errName(r), 'RM_ERROR_ARGUMENT_INVALID', `rights ${rights}`);
  }
});

test('reclaim while a borrower holds the parcel is MEM_INUSE; after MEM_RELEASE (owner told) it succeeds', async () => {
  const { b, g, guest, hlosVm, guestVm } = await withGuest();
  const handle = await create(b.hlos, RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R | W | X }], [range(FREE)]));
  await guest.ok(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.LEND), MemAcceptReply);
  const reclaim = payload(MemReclaimRequest, { handle, flags: 0 });
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_RECLAIM, reclaim)), 'RM_ERROR_MEM_INUSE');
  assert.equal(errName(await guest.call(RM_MSG.MEM_RECLAIM, reclaim)), 'RM_ERROR_HANDLE_INVALID', 'not the owner');
  assert.equal(errName(await guest.call(RM_MSG.MEM_RELEASE, payload(MemReleaseRequest, { handle, flags: 0 }))), 'RM_OK');
  assert.equal(guestVm.memory.readBytes(FREE, 1), GH_ERROR.ADDR_INVALID, 'released: unmapped from the guest');
  const [released] = await notes(b.hlos, RM_NOTIF.MEM_RELEASED);
  assert.deepEqual(MemReleasedNotification.decode(released!.payload), { handle, vmid: g.vmid, memInfoTag: 0 });
  assert.equal(errName(await guest.call(RM_MSG.MEM_RELEASE, payload(MemReleaseRequest, { handle, flags: 0 }))), 'RM_ERROR_MEM_RELEASED');
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_RECLAIM, reclaim)), 'RM_OK');
  assert.equal(hlosVm.memory.writeBytes(FREE, Uint8Array.of(1)), GH_ERROR.OK, 'the HLOS has its range back');
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_RECLAIM, reclaim)), 'RM_ERROR_HANDLE_INVALID', 'the parcel is gone');
});

test('unknown handles are HANDLE_INVALID; a range the lender does not have is MEM_INVALID, one lent already MEM_INUSE', async () => {
  const { b, g, guest } = await withGuest();
  assert.equal(errName(await guest.call(RM_MSG.MEM_ACCEPT, acceptReq(0x777, MEM_TRANS_TYPE.LEND))), 'RM_ERROR_HANDLE_INVALID');
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_RECLAIM, payload(MemReclaimRequest, { handle: 0x777, flags: 0 }))), 'RM_ERROR_HANDLE_INVALID');
  const outside = createReq([{ vmid: g.vmid, rights: R }], [range(0x4000_0000)]);
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_LEND, outside)), 'RM_ERROR_MEM_INVALID');
  await create(b.hlos, RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R }], [range(FREE)]));
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R }], [range(FREE)]))), 'RM_ERROR_MEM_INUSE');
});

test('at most 64 parcels per owner (DENIED beyond) and 512 entries per list (MSG_INVALID beyond)', async () => {
  const { b, g } = await withGuest();
  // createGuest lent one parcel already
  for (let i = 0; i < 63; i++) {
    await create(b.hlos, RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R }], [range(FREE + i * PAGE_SIZE)]));
  }
  const r = await b.hlos.call(RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R }], [range(FREE + 63 * PAGE_SIZE)]));
  assert.equal(errName(r), 'RM_ERROR_DENIED');
  // 513 SGL entries: the codec refuses to build it, so patch a 512-entry request's count and add one entry
  const sgl = Array.from({ length: 512 }, (_, i) => range(FREE + (100 + i) * PAGE_SIZE));
  const base = createReq([{ vmid: g.vmid, rights: R }], sgl);
  const sglAt = 8 + 4 + 4;
  const body = new Uint8Array(base.length + 16);
  body.set(base.subarray(0, sglAt + 4 + 512 * 16));
  body.set(base.subarray(sglAt + 4 + 512 * 16), sglAt + 4 + 513 * 16);
  new DataView(body.buffer).setUint16(sglAt, 513, true);
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_LEND, body)), 'RM_ERROR_MSG_INVALID');
});

test('MEM_APPEND: a parcel created with APPEND is announced, and can be accepted, only after the END append', async () => {
  const { b, g, guest, guestVm } = await withGuest();
  const handle = await create(b.hlos, RM_MSG.MEM_LEND,
    createReq([{ vmid: g.vmid, rights: R | W }], [range(FREE)], MEM_SHARE_FLAG.APPEND));
  assert.deepEqual(await notes(guest, RM_NOTIF.MEM_SHARED), []);
  assert.equal(errName(await guest.call(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.LEND))), 'RM_ERROR_ARGUMENT_INVALID');
  const more = (flags: number, ipa: number) => payload(MemAppendRequest, { handle, flags, sgl: [range(ipa)] });
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_APPEND, more(0, FREE + 4 * PAGE_SIZE))), 'RM_OK');
  assert.equal(errName(await guest.call(RM_MSG.MEM_APPEND, more(1, FREE + 8 * PAGE_SIZE))), 'RM_ERROR_HANDLE_INVALID');
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_APPEND, more(1, FREE + 8 * PAGE_SIZE))), 'RM_OK');
  const [shared] = await notes(guest, RM_NOTIF.MEM_SHARED);
  const v = MemSharedNotification.decode(shared!.payload) as { sgl: SglEntry[] };
  assert.deepEqual(v.sgl, [range(FREE), range(FREE + 4 * PAGE_SIZE), range(FREE + 8 * PAGE_SIZE)]);
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_APPEND, more(1, FREE + 12 * PAGE_SIZE))), 'RM_ERROR_ARGUMENT_INVALID',
    'complete: no more appends');
  const at = FREE + (64 << 20);
  const reply = await guest.ok(RM_MSG.MEM_ACCEPT,
    acceptReq(handle, MEM_TRANS_TYPE.LEND, { flags: MEM_ACCEPT_FLAG.MAP_CONTIGUOUS, sgl: [range(at, 3 * PAGE_SIZE)] }), MemAcceptReply);
  assert.deepEqual(reply.sgl, [range(at), range(at + PAGE_SIZE), range(at + 2 * PAGE_SIZE)]);
  assert.equal(guestVm.memory.writeBytes(at + 2 * PAGE_SIZE, Uint8Array.of(1)), GH_ERROR.OK);
});

test('MEM_ACCEPT validation: ACL and label mismatches are VALIDATE_FAILED, a wrong transaction ARGUMENT_INVALID', async () => {
  const { b, g, guest } = await withGuest();
  const acl = [{ vmid: g.vmid, rights: R | W }];
  const handle = await create(b.hlos, RM_MSG.MEM_LEND, createReq(acl, [range(FREE)], 0, 7));
  const tryAccept = async (opts: Parameters<typeof acceptReq>[2], trans: number = MEM_TRANS_TYPE.LEND) =>
    errName(await guest.call(RM_MSG.MEM_ACCEPT, acceptReq(handle, trans, opts)));
  assert.equal(await tryAccept({}, MEM_TRANS_TYPE.SHARE), 'RM_ERROR_ARGUMENT_INVALID');
  assert.equal(await tryAccept({ flags: MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR, acl: [{ vmid: g.vmid, rights: R }] }), 'RM_ERROR_VALIDATE_FAILED');
  assert.equal(await tryAccept({ flags: MEM_ACCEPT_FLAG.VALIDATE_LABEL, label: 8 }), 'RM_ERROR_VALIDATE_FAILED');
  assert.equal(await tryAccept({ flags: MEM_ACCEPT_FLAG.VALIDATE_SANITIZED }), 'RM_ERROR_VALIDATE_FAILED');
  assert.equal(await tryAccept({ sgl: [range(FREE, 2 * PAGE_SIZE)] }), 'RM_ERROR_ARGUMENT_INVALID', 'the size must match');
  assert.equal(await tryAccept({ flags: MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR | MEM_ACCEPT_FLAG.VALIDATE_LABEL, acl, label: 7 }), 'RM_OK');
  assert.equal(await tryAccept({}), 'RM_ERROR_MEM_INUSE', 'accepted already');
});

test('MEM_DONATE: on accept the pages become the receiver\'s and the parcel ends', async () => {
  const { b, g, guest, hlosVm, guestVm } = await withGuest();
  const handle = await create(b.hlos, RM_MSG.MEM_DONATE, createReq([{ vmid: g.vmid, rights: R | W | X }], [range(FREE)]));
  await guest.ok(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.DONATE), MemAcceptReply);
  assert.equal(guestVm.memory.writeBytes(FREE, Uint8Array.of(1)), GH_ERROR.OK);
  assert.equal(hlosVm.memory.readBytes(FREE, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_RECLAIM, payload(MemReclaimRequest, { handle, flags: 0 }))), 'RM_ERROR_HANDLE_INVALID');
});

test('MEM_NOTIFY: the owner re-announces (SHARED) or recalls (RECALL); a borrower tells the owner (RELEASED)', async () => {
  const { b, g, guest } = await withGuest();
  const handle = await create(b.hlos, RM_MSG.MEM_LEND, createReq([{ vmid: g.vmid, rights: R }], [range(FREE)]));
  await notes(guest, RM_NOTIF.MEM_SHARED);
  const notify = (flags: number, vmids: number[] = []) =>
    payload(MemNotifyRequest, { handle, flags, memInfoTag: 9, vmids: vmids.map((vmid) => ({ vmid })) });
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_NOTIFY, notify(MEM_NOTIFY_FLAG.SHARED, [g.vmid]))), 'RM_OK');
  assert.equal((await notes(guest, RM_NOTIF.MEM_SHARED)).length, 1);
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_NOTIFY, notify(MEM_NOTIFY_FLAG.SHARED, [0x99]))), 'RM_ERROR_ARGUMENT_INVALID');
  assert.equal(errName(await guest.call(RM_MSG.MEM_NOTIFY, notify(MEM_NOTIFY_FLAG.SHARED, [g.vmid]))), 'RM_ERROR_DENIED');
  await guest.ok(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.LEND), MemAcceptReply);
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_NOTIFY, notify(MEM_NOTIFY_FLAG.RECALL))), 'RM_OK');
  const [recall] = await notes(guest, RM_NOTIF.MEM_RECALL);
  assert.deepEqual(recall!.payload, Uint8Array.of(handle, 0, 0, 0, 9, 0, 0, 0));
  assert.equal(errName(await guest.call(RM_MSG.MEM_NOTIFY, notify(MEM_NOTIFY_FLAG.RELEASED))), 'RM_OK');
  const [released] = await notes(b.hlos, RM_NOTIF.MEM_RELEASED);
  assert.deepEqual(MemReleasedNotification.decode(released!.payload), { handle, vmid: g.vmid, memInfoTag: 9 });
  assert.equal(errName(await b.hlos.call(RM_MSG.MEM_NOTIFY, notify(MEM_NOTIFY_FLAG.SHARED | MEM_NOTIFY_FLAG.RECALL))), 'RM_ERROR_ARGUMENT_INVALID');
});
