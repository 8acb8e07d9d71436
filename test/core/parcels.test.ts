import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PAGE_SIZE, PGTABLE_ACCESS } from '../../core/abi/memory.js';
import { MEM_TRANS_TYPE, MEM_TYPE, MEMPARCEL, RM_ERROR } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { Memextent } from '../../core/mem/memextent.js';
import { Memparcels, Parcel, ParcelRefusal, type ParcelRequest } from '../../core/mem/parcels.js';

const { R, RW, RX, RWX } = PGTABLE_ACCESS;
const { LEND, SHARE, DONATE } = MEM_TRANS_TYPE;
const HLOS = VMID.HLOS;
const GUEST = 0x80;
const OTHER = 0x81;
const HLOS_RAM = 0x8000_0000;
const MAP_AT = 0x1000_0000;

function world() {
  const hyp = new Hypervisor({ seed: 3 });
  const hlos = hyp.createVm({ vmid: HLOS, name: 'hlos', vcpus: 1, ram: { base: HLOS_RAM, size: 16 << 20 } }).vm;
  const guest = hyp.createVm({ vmid: GUEST, name: 'guest', vcpus: 1, ram: { base: 0x4000_0000, size: 1 << 20 } }).vm;
  const other = hyp.createVm({ vmid: OTHER, name: 'other', vcpus: 1 }).vm;
  const parcels = new Memparcels(hyp);
  /** HLOS lends its first RAM page to the guest RW, unless told otherwise. */
  const request = (req: Partial<ParcelRequest>): ParcelRequest =>
    ({ owner: HLOS, transaction: LEND, acl: [{ vmid: GUEST, rights: RW }], sgl: [{ ipa: HLOS_RAM, size: PAGE_SIZE }], ...req });
  /** A parcel that must be created; fails the test with the refusal otherwise. */
  const create = (req: Partial<ParcelRequest>): Parcel => {
    const p = parcels.create(request(req));
    if (p instanceof ParcelRefusal) assert.fail(`refused: ${p.code} ${p.detail}`);
    return p;
  };
  /** The refusal code of an operation that must be refused. */
  const refusal = (r: Parcel | ParcelRefusal | null): string => {
    assert.ok(r instanceof ParcelRefusal, 'expected a refusal');
    return r.code;
  };
  return { hyp, hlos, guest, other, parcels, request, create, refusal };
}

const text = (r: Uint8Array | number): string => {
  assert.ok(r instanceof Uint8Array, `read failed with ${r}`);
  return Buffer.from(r).toString();
};

test('LEND: the lender loses access, the borrower gets exactly its ACL rights, reclaim gives the memory back', () => {
  const w = world();
  w.hlos.memory.writeBytes(HLOS_RAM, Buffer.from('kernel image'));
  const parcel = w.create({ sgl: [{ ipa: HLOS_RAM, size: 2 * PAGE_SIZE }] });
  assert.equal(w.hlos.memory.readBytes(HLOS_RAM, 1), GH_ERROR.ADDR_INVALID, 'lent memory is gone from the lender');
  assert.equal(w.hlos.memory.writeBytes(HLOS_RAM + PAGE_SIZE, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  assert.equal(text(w.guest.memory.readBytes(MAP_AT, 12)), 'kernel image');
  assert.equal(w.guest.memory.writeBytes(MAP_AT + PAGE_SIZE, Buffer.from('guest data')), GH_ERROR.OK);
  assert.equal(w.guest.memory.accessible(MAP_AT, 2 * PAGE_SIZE, PGTABLE_ACCESS.X), false, 'RW, not X');
  const busy = w.parcels.reclaim(parcel, HLOS);
  assert.equal(w.refusal(busy), 'parcel-accepted');
  assert.equal((busy as ParcelRefusal).rmError, RM_ERROR.MEM_INUSE);
  assert.equal(w.parcels.release(parcel, GUEST), null);
  assert.equal(w.guest.memory.readBytes(MAP_AT, 1), GH_ERROR.ADDR_INVALID, 'released memory is gone from the borrower');
  assert.equal(w.parcels.reclaim(parcel, HLOS), null);
  assert.equal(text(w.hlos.memory.readBytes(HLOS_RAM + PAGE_SIZE, 10)), 'guest data', 'the lender sees what the borrower wrote');
  assert.equal(w.hlos.memory.writeBytes(HLOS_RAM, new Uint8Array(1)), GH_ERROR.OK);
  assert.equal(parcel.live, false);
  assert.equal(w.parcels.get(parcel.handle), undefined);
});

test('SHARE: the owner keeps access within its own ACL rights; a W-less borrower cannot write', () => {
  const w = world();
  const parcel = w.create({
    transaction: SHARE,
    acl: [{ vmid: HLOS, rights: RW }, { vmid: GUEST, rights: R }, { vmid: OTHER, rights: RWX }],
  });
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  assert.equal(w.parcels.accept(parcel, OTHER, MAP_AT), null);
  assert.equal(w.hlos.memory.writeBytes(HLOS_RAM, Buffer.from('shared')), GH_ERROR.OK, 'the owner still writes');
  assert.equal(text(w.guest.memory.readBytes(MAP_AT, 6)), 'shared');
  assert.equal(w.guest.memory.writeBytes(MAP_AT, new Uint8Array(1)), GH_ERROR.ADDR_INVALID, 'R only');
  assert.equal(w.other.memory.writeBytes(MAP_AT, Buffer.from('S')), GH_ERROR.OK);
  assert.equal(text(w.hlos.memory.readBytes(HLOS_RAM, 6)), 'Shared');
  assert.equal(w.hlos.memory.accessible(HLOS_RAM, 1, PGTABLE_ACCESS.X), false, 'the owner listed itself RW: X is gone while shared');
  assert.equal(w.parcels.release(parcel, GUEST), null);
  assert.equal(w.refusal(w.parcels.reclaim(parcel, HLOS)), 'parcel-accepted', 'OTHER still has it');
  assert.equal(w.parcels.release(parcel, OTHER), null);
  assert.equal(w.parcels.reclaim(parcel, HLOS), null);
  assert.equal(w.hlos.memory.accessible(HLOS_RAM, PAGE_SIZE, RWX), true, 'full access again');
});

test('SHARE with the owner listed read-only makes the owner read-only until reclaim', () => {
  const w = world();
  const parcel = w.create({ transaction: SHARE, acl: [{ vmid: HLOS, rights: R }, { vmid: GUEST, rights: RW }] });
  assert.equal(w.hlos.memory.writeBytes(HLOS_RAM, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
  assert.equal(w.hlos.memory.readBytes(HLOS_RAM, 1) instanceof Uint8Array, true);
  assert.equal(w.parcels.reclaim(parcel, HLOS), null);
  assert.equal(w.hlos.memory.writeBytes(HLOS_RAM, new Uint8Array(1)), GH_ERROR.OK);
});

test('DONATE: accepting completes it; the pages are the receiver\'s for good and it can lend them on', () => {
  const w = world();
  w.hlos.memory.writeBytes(HLOS_RAM, Buffer.from('gift'));
  const parcel = w.create({ transaction: DONATE, acl: [{ vmid: GUEST, rights: RWX }] });
  assert.equal(w.hlos.memory.readBytes(HLOS_RAM, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  assert.equal(parcel.live, false, 'a donation ends when accepted');
  assert.equal(w.refusal(w.parcels.reclaim(parcel, HLOS)), 'parcel-gone');
  assert.equal(text(w.guest.memory.readBytes(MAP_AT, 4)), 'gift');
  assert.equal(w.hlos.memory.isMapped(HLOS_RAM / PAGE_SIZE), false, 'the hole stays: the page left the donor');
  const onward = w.parcels.create({ owner: GUEST, transaction: LEND, acl: [{ vmid: OTHER, rights: R }], sgl: [{ ipa: MAP_AT, size: PAGE_SIZE }] });
  assert.ok(onward instanceof Parcel, 'donated memory is the receiver\'s own');
});

test('borrowed memory cannot be lent on', () => {
  const w = world();
  const parcel = w.create({});
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  const again = w.parcels.create({ owner: GUEST, transaction: LEND, acl: [{ vmid: OTHER, rights: R }], sgl: [{ ipa: MAP_AT, size: PAGE_SIZE }] });
  assert.equal(w.refusal(again), 'range-not-owned');
  assert.equal((again as ParcelRefusal).rmError, RM_ERROR.MEM_INVALID);
});

test('a range in a live parcel cannot go into another one (MEM_INUSE) until reclaimed', () => {
  const w = world();
  const first = w.create({ transaction: SHARE, acl: [{ vmid: HLOS, rights: RW }, { vmid: GUEST, rights: R }], sgl: [{ ipa: HLOS_RAM, size: 4 * PAGE_SIZE }] });
  const shareLast = w.request({ transaction: SHARE, acl: [{ vmid: HLOS, rights: RW }, { vmid: OTHER, rights: R }], sgl: [{ ipa: HLOS_RAM + 3 * PAGE_SIZE, size: PAGE_SIZE }] });
  const second = w.parcels.create(shareLast);
  assert.equal(w.refusal(second), 'range-in-use');
  assert.equal((second as ParcelRefusal).rmError, RM_ERROR.MEM_INUSE);
  assert.equal(w.parcels.reclaim(first, HLOS), null);
  assert.ok(w.parcels.create(shareLast) instanceof Parcel);
});

test('sanitize: on create the memory is zeroed at once; on release or reclaim it is zeroed when reclaimed', () => {
  const w = world();
  w.hlos.memory.writeBytes(HLOS_RAM, Buffer.from('secret'));
  const now = w.create({ sanitize: true });
  assert.equal(now.sanitized, true);
  assert.equal(w.parcels.accept(now, GUEST, MAP_AT), null);
  assert.deepEqual(w.guest.memory.readBytes(MAP_AT, 6), new Uint8Array(6));
  w.guest.memory.writeBytes(MAP_AT, Buffer.from('guest secret'));
  assert.equal(w.parcels.release(now, GUEST, { sanitize: true }), null);
  assert.equal(w.parcels.reclaim(now, HLOS), null);
  assert.deepEqual(w.hlos.memory.readBytes(HLOS_RAM, 12), new Uint8Array(12), 'the release asked for zeroing');

  w.hlos.memory.writeBytes(HLOS_RAM + PAGE_SIZE, Buffer.from('mine'));
  const later = w.create({ sgl: [{ ipa: HLOS_RAM + PAGE_SIZE, size: PAGE_SIZE }] });
  assert.equal(w.parcels.reclaim(later, HLOS, { sanitize: true }), null);
  assert.deepEqual(w.hlos.memory.readBytes(HLOS_RAM + PAGE_SIZE, 4), new Uint8Array(4));

  w.hlos.memory.writeBytes(HLOS_RAM + 2 * PAGE_SIZE, Buffer.from('kept'));
  const plain = w.create({ sgl: [{ ipa: HLOS_RAM + 2 * PAGE_SIZE, size: PAGE_SIZE }] });
  assert.equal(w.parcels.reclaim(plain, HLOS), null);
  assert.equal(text(w.hlos.memory.readBytes(HLOS_RAM + 2 * PAGE_SIZE, 4)), 'kept', 'no sanitize, no zeroing');
});

test('sanitize is refused for IO memory and for borrowers without write access', () => {
  const w = world();
  const readOnly = w.create({ acl: [{ vmid: GUEST, rights: R }] });
  assert.equal(w.refusal(w.parcels.accept(readOnly, GUEST, MAP_AT, { sanitize: true })), 'sanitize-needs-write');
  assert.equal(w.parcels.accept(readOnly, GUEST, MAP_AT), null);
  assert.equal(w.refusal(w.parcels.release(readOnly, GUEST, { sanitize: true })), 'sanitize-needs-write');
  const io = w.create({ memType: MEM_TYPE.IO, sgl: [{ ipa: HLOS_RAM + PAGE_SIZE, size: PAGE_SIZE }] });
  assert.equal(w.refusal(w.parcels.reclaim(io, HLOS, { sanitize: true })), 'io-sanitize');
  assert.equal(w.refusal(w.parcels.create(w.request({ memType: MEM_TYPE.IO, sanitize: true, sgl: [{ ipa: HLOS_RAM + 2 * PAGE_SIZE, size: PAGE_SIZE }] }))), 'io-sanitize');
});

test('create refuses bad ACLs, with the RM error the real RM answers', () => {
  const w = world();
  const cases: [Partial<ParcelRequest>, string, number][] = [
    [{ acl: [] }, 'acl-empty', RM_ERROR.ARGUMENT_INVALID],
    [{ sgl: [] }, 'sgl-empty', RM_ERROR.ARGUMENT_INVALID],
    [{ acl: [{ vmid: GUEST, rights: R }, { vmid: GUEST, rights: RW }] }, 'acl-duplicate', RM_ERROR.ARGUMENT_INVALID],
    [{ acl: [{ vmid: GUEST, rights: PGTABLE_ACCESS.W }] }, 'acl-rights', RM_ERROR.ARGUMENT_INVALID],
    [{ acl: [{ vmid: GUEST, rights: PGTABLE_ACCESS.X }] }, 'acl-rights', RM_ERROR.ARGUMENT_INVALID],
    [{ acl: [{ vmid: 0, rights: R }] }, 'acl-vmid', RM_ERROR.ARGUMENT_INVALID],
    [{ memType: MEM_TYPE.IO, acl: [{ vmid: GUEST, rights: RX }] }, 'io-exec', RM_ERROR.ARGUMENT_INVALID],
    [{ acl: [{ vmid: HLOS, rights: RW }, { vmid: GUEST, rights: R }] }, 'owner-in-acl', RM_ERROR.ARGUMENT_INVALID],
    [{ transaction: SHARE }, 'owner-not-in-acl', RM_ERROR.ARGUMENT_INVALID],
    [{ transaction: DONATE, acl: [{ vmid: GUEST, rights: RWX }, { vmid: OTHER, rights: RWX }] }, 'donate-acl', RM_ERROR.ARGUMENT_INVALID],
    [{ transaction: DONATE, acl: [{ vmid: GUEST, rights: RW }] }, 'donate-rights', RM_ERROR.DENIED],
    [{ transaction: DONATE, acl: [{ vmid: GUEST, rights: RWX }], sgl: [{ ipa: HLOS_RAM, size: PAGE_SIZE }, { ipa: HLOS_RAM + 2 * PAGE_SIZE, size: PAGE_SIZE }] }, 'donate-range', RM_ERROR.DENIED],
    [{ transaction: 3 }, 'transaction', RM_ERROR.UNIMPLEMENTED],
    [{ owner: 0x99 }, 'owner-unknown', RM_ERROR.VMID_INVALID],
  ];
  for (const [req, code, rmError] of cases) {
    const r = w.parcels.create(w.request(req));
    assert.ok(r instanceof ParcelRefusal, code);
    assert.equal(r.code, code);
    assert.equal(r.rmError, rmError, code);
  }
  assert.equal(w.hlos.memory.writeBytes(HLOS_RAM, new Uint8Array(1)), GH_ERROR.OK, 'refusals change nothing');
});

test('create refuses bad ranges: unaligned, empty, overlapping each other, not mapped in the owner', () => {
  const w = world();
  const sgl = (...ranges: [number | bigint, number | bigint][]) => ranges.map(([ipa, size]) => ({ ipa, size }));
  const cases: [ReturnType<typeof sgl>, string][] = [
    [sgl([HLOS_RAM + 0x800, PAGE_SIZE]), 'range-invalid'],
    [sgl([HLOS_RAM, 0x800]), 'range-invalid'],
    [sgl([HLOS_RAM, 0]), 'range-invalid'],
    [sgl([1n << 62n, PAGE_SIZE]), 'range-invalid'],
    [sgl([HLOS_RAM, 2 * PAGE_SIZE], [HLOS_RAM + PAGE_SIZE, PAGE_SIZE]), 'range-overlap'],
    [sgl([0x1000, PAGE_SIZE]), 'range-unmapped'],
    [sgl([HLOS_RAM + (16 << 20) - PAGE_SIZE, 2 * PAGE_SIZE]), 'range-unmapped'],
  ];
  for (const [ranges, code] of cases) assert.equal(w.refusal(w.parcels.create(w.request({ sgl: ranges }))), code);
  assert.ok(w.parcels.create(w.request({ sgl: sgl([BigInt(HLOS_RAM), BigInt(PAGE_SIZE)]) })) instanceof Parcel, 'bigint SGL fields from the RPC decoder');
  assert.equal(w.hlos.memory.residentPages, 1, 'refused requests materialise no RAM');
});

test(`an owner holds at most ${MEMPARCEL.MAX_PER_VM} parcels`, () => {
  const w = world();
  for (let i = 0; i < MEMPARCEL.MAX_PER_VM; i++) w.create({ sgl: [{ ipa: HLOS_RAM + i * PAGE_SIZE, size: PAGE_SIZE }] });
  const r = w.parcels.create(w.request({ sgl: [{ ipa: HLOS_RAM + 100 * PAGE_SIZE, size: PAGE_SIZE }] }));
  assert.equal(w.refusal(r), 'too-many-parcels');
  assert.equal((r as ParcelRefusal).rmError, RM_ERROR.DENIED);
});

test('accept places regions where asked, or back to back from one base, and refuses taken or bad IPAs', () => {
  const w = world();
  const parcel = w.create({ sgl: [{ ipa: HLOS_RAM, size: PAGE_SIZE }, { ipa: HLOS_RAM + 8 * PAGE_SIZE, size: 2 * PAGE_SIZE }] });
  assert.equal(w.refusal(w.parcels.accept(parcel, GUEST, [MAP_AT])), 'placement');
  assert.equal(w.refusal(w.parcels.accept(parcel, GUEST, [MAP_AT + 8, MAP_AT + PAGE_SIZE])), 'placement');
  const taken = w.parcels.accept(parcel, GUEST, 0x4000_0000 - PAGE_SIZE);
  assert.equal(w.refusal(taken), 'ipa-in-use', 'the second region would land on the guest\'s RAM');
  assert.equal((taken as ParcelRefusal).rmError, RM_ERROR.NORESOURCE);
  assert.equal(w.guest.memory.isMapped(0x4000_0000 / PAGE_SIZE - 1), false, 'a refused accept maps nothing');
  assert.equal(w.parcels.accept(parcel, GUEST, [MAP_AT + 0x10_0000, MAP_AT]), null);
  assert.deepEqual(parcel.accepted.get(GUEST), [MAP_AT + 0x10_0000, MAP_AT]);
  assert.equal(w.parcels.release(parcel, GUEST), null);
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  assert.deepEqual(parcel.accepted.get(GUEST), [MAP_AT, MAP_AT + PAGE_SIZE]);
  assert.equal(w.guest.memory.accessible(MAP_AT, 3 * PAGE_SIZE, RW), true);
});

test('accept, release and reclaim refusals name who may do what', () => {
  const w = world();
  const parcel = w.create({});
  const expect = (r: ParcelRefusal | null, code: string, rmError: number) => {
    assert.equal(w.refusal(r), code);
    assert.equal((r as ParcelRefusal).rmError, rmError, code);
  };
  expect(w.parcels.accept(parcel, OTHER, MAP_AT), 'not-in-acl', RM_ERROR.VMID_INVALID);
  expect(w.parcels.release(parcel, GUEST), 'not-accepted', RM_ERROR.MEM_RELEASED);
  expect(w.parcels.release(parcel, OTHER), 'not-in-acl', RM_ERROR.VMID_INVALID);
  expect(w.parcels.reclaim(parcel, GUEST), 'not-owner', RM_ERROR.DENIED);
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  expect(w.parcels.accept(parcel, GUEST, MAP_AT + 0x10_0000), 'already-accepted', RM_ERROR.MEM_INUSE);
  const shared = w.create({ transaction: SHARE, acl: [{ vmid: HLOS, rights: RW }, { vmid: 0x99, rights: R }], sgl: [{ ipa: HLOS_RAM + PAGE_SIZE, size: PAGE_SIZE }] });
  expect(w.parcels.accept(shared, HLOS, MAP_AT), 'owner-accept', RM_ERROR.DENIED);
  expect(w.parcels.release(shared, HLOS), 'not-owner', RM_ERROR.DENIED);
  expect(w.parcels.accept(shared, 0x99, MAP_AT), 'vm-unknown', RM_ERROR.VMID_INVALID);
  assert.equal(w.parcels.reclaim(shared, HLOS), null);
  expect(w.parcels.accept(shared, 0x99, MAP_AT), 'parcel-gone', RM_ERROR.HANDLE_INVALID);
});

test('append adds ranges until someone accepts', () => {
  const w = world();
  const parcel = w.create({});
  assert.equal(w.parcels.append(parcel, [{ ipa: HLOS_RAM + PAGE_SIZE, size: PAGE_SIZE }]), null);
  assert.equal(w.hlos.memory.readBytes(HLOS_RAM + PAGE_SIZE, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(parcel.size, 2 * PAGE_SIZE);
  assert.equal(w.refusal(w.parcels.append(parcel, [{ ipa: HLOS_RAM, size: PAGE_SIZE }])), 'range-overlap', 'already in this parcel');
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  assert.equal(w.refusal(w.parcels.append(parcel, [{ ipa: HLOS_RAM + 2 * PAGE_SIZE, size: PAGE_SIZE }])), 'parcel-accepted');
});

test('handles are numbered from 0 and found by handle while the parcel lives', () => {
  const w = world();
  const a = w.create({});
  const b = w.create({ sgl: [{ ipa: HLOS_RAM + PAGE_SIZE, size: PAGE_SIZE }] });
  assert.deepEqual([a.handle, b.handle], [0, 1]);
  assert.equal(w.parcels.get(1), b);
  assert.deepEqual([...w.parcels.all()], [a, b]);
});

test('memory an extent maps into the owner can be lent like RAM', () => {
  const w = world();
  const rm = w.hyp.createVm({ vmid: VMID.RM, name: 'rm', vcpus: 1 }).vm;
  const me = w.hyp.createObject<Memextent>('memextent');
  assert.equal(me.configure({ page: 0x90000, rem: 0 }, { page: 2, rem: 0 }, RW), GH_ERROR.OK);
  assert.equal(me.activate(), GH_ERROR.OK);
  assert.equal(me.map(rm.addrspace, { page: 0x100, rem: 0 }, { user: RW, kernel: RW, memtype: 15 }, null), GH_ERROR.OK);
  rm.memory.writeBytes(0x10_0000, Buffer.from('rm page'));
  const parcel = w.parcels.create({ owner: VMID.RM, transaction: LEND, acl: [{ vmid: GUEST, rights: R }], sgl: [{ ipa: 0x10_0000, size: 2 * PAGE_SIZE }] });
  assert.ok(parcel instanceof Parcel);
  assert.equal(rm.memory.readBytes(0x10_0000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.parcels.accept(parcel, GUEST, MAP_AT), null);
  assert.equal(text(w.guest.memory.readBytes(MAP_AT, 7)), 'rm page');
  assert.equal(w.parcels.release(parcel, GUEST), null);
  assert.equal(w.parcels.reclaim(parcel, VMID.RM), null);
  assert.equal(text(rm.memory.readBytes(0x10_0000, 7)), 'rm page');
});
