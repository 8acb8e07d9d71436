import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import {
  DONATE_TYPE, MEMEXTENT_MEMTYPE, MEMEXTENT_MODIFY_OP, MEMEXTENT_OPTION, MEMEXTENT_TYPE, PAGE_SIZE, PGTABLE_ACCESS,
  PGTABLE_VM_MEMTYPE,
} from '../../core/abi/memory.js';
import { right, RIGHT_ACTIVATE, allRights } from '../../core/abi/objects.js';
import { extentAttrs, mapAttrs, memWorld } from './mem-fixture.js';

const { BASIC, SPARSE } = MEMEXTENT_TYPE;
const { R, RW, RWX, RX } = PGTABLE_ACCESS;
const PHYS = 0x8000_0000;
const MIB = 0x10_0000;
/** NOSYNC with an op, as the unsigned 32-bit value a guest passes. */
const nosync = (op: number) => (MEMEXTENT_OPTION.NOSYNC | op) >>> 0;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

test('memextent_configure: a page-aligned range with valid attributes, then object_activate', () => {
  const w = memWorld();
  const me = w.create('memextent');
  assert.equal(w.err('memextent_configure', [me, PHYS, MIB, extentAttrs(RW), 0]), GH_ERROR.OK);
  assert.equal(w.err('object_activate', [me, 0]), GH_ERROR.OK);
  const e = w.extentOf(me);
  assert.equal(e.base, PHYS / PAGE_SIZE);
  assert.equal(e.pages, MIB / PAGE_SIZE);
  assert.equal(e.access, RW);
  assert.equal(e.ownedPages, MIB / PAGE_SIZE, 'a BASIC extent owns its whole range once active');
});

test('memextent_configure refuses bad sizes, alignment and attributes', () => {
  const w = memWorld();
  const me = w.create('memextent');
  const configure = (base: number | bigint, size: number | bigint, attrs: number | bigint) =>
    w.err('memextent_configure', [me, base, size, attrs, 0]);
  assert.equal(configure(PHYS, 0, extentAttrs(RW)), GH_ERROR.ARGUMENT_INVALID, 'empty');
  assert.equal(configure(U64_MAX - 0xfffn, 0x2000, extentAttrs(RW)), GH_ERROR.ARGUMENT_INVALID, 'wraps past 2^64');
  assert.equal(configure(PHYS + 0x800, MIB, extentAttrs(RW)), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(configure(PHYS, MIB + 1, extentAttrs(RW)), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(configure(PHYS, MIB, extentAttrs(RW) | 0x8), GH_ERROR.ARGUMENT_INVALID, 'reserved bit 3');
  assert.equal(configure(PHYS, MIB, extentAttrs(RW) | 0x8000_0000), GH_ERROR.ARGUMENT_INVALID, 'list append');
  assert.equal(configure(PHYS, MIB, extentAttrs(RW, 2)), GH_ERROR.ARGUMENT_INVALID, 'type 2');
  assert.equal(configure(PHYS, MIB, extentAttrs(RW, BASIC, MEMEXTENT_MEMTYPE.CACHED)), GH_ERROR.ARGUMENT_INVALID, 'CACHED');
  assert.equal(configure(PHYS, MIB, extentAttrs(PGTABLE_ACCESS.NONE)), GH_ERROR.ARGUMENT_INVALID, 'no access');
  assert.equal(configure(PHYS, MIB, BigInt(extentAttrs(RW)) | (1n << 32n)), GH_ERROR.ARGUMENT_INVALID, 'upper word');
  assert.equal(configure(2 ** 52, MIB, extentAttrs(RW)), GH_ERROR.ARGUMENT_INVALID, 'past physical memory');
  assert.equal(w.err('memextent_configure', [me, PHYS, MIB, extentAttrs(RW), 1]), GH_ERROR.ARGUMENT_INVALID, 'R0');
  assert.equal(w.err('object_activate', [me, 0]), GH_ERROR.OBJECT_CONFIG, 'nothing was configured');
});

test('memextent_configure: capability and state errors', () => {
  const w = memWorld();
  const me = w.create('memextent');
  const noActivate = w.capid(w.extentOf(me), allRights('memextent') & ~RIGHT_ACTIVATE);
  assert.equal(w.err('memextent_configure', [noActivate, PHYS, MIB, extentAttrs(RW), 0]), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(w.err('memextent_configure', [w.asA, PHYS, MIB, extentAttrs(RW), 0]), GH_ERROR.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(w.err('memextent_configure', [me, PHYS, MIB, extentAttrs(RW), 0]), GH_ERROR.OK);
  assert.equal(w.err('object_activate', [me, 0]), GH_ERROR.OK);
  assert.equal(w.err('memextent_configure', [me, PHYS, MIB, extentAttrs(RW), 0]), GH_ERROR.OBJECT_STATE);
});

test('two BASIC extents cannot own the same page: the second fails to activate with MEMDB_NOT_OWNER', () => {
  const w = memWorld();
  w.extent(PHYS, MIB);
  const second = w.create('memextent');
  assert.equal(w.err('memextent_configure', [second, PHYS + MIB - PAGE_SIZE, MIB, extentAttrs(RW), 0]), GH_ERROR.OK);
  assert.equal(w.err('object_activate', [second, 0]), GH_ERROR.MEMDB_NOT_OWNER);
  assert.equal(w.extentOf(second).ownedPages, 0);
});

test('deleting the last cap to an extent gives its memory back to the partition', () => {
  const w = memWorld();
  const first = w.extent(PHYS, MIB);
  assert.equal(w.err('cspace_delete_cap_from', [w.cspace, first, 0]), GH_ERROR.OK);
  assert.doesNotThrow(() => w.extent(PHYS, MIB));
});

test('memextent_configure_derive: a child of a BASIC extent takes its range and inherits the mappings with its own access', () => {
  const w = memWorld();
  const parent = w.extent(PHYS, 4 * PAGE_SIZE);
  assert.equal(w.err('addrspace_map', [w.asA, parent, 0x10_0000, mapAttrs(RWX), 0, 0, 0]), GH_ERROR.OK);
  w.vmA.memory.writeBytes(0x10_1000, new Uint8Array([1, 2]));
  const child = w.derived(parent, PAGE_SIZE, PAGE_SIZE, extentAttrs(R));
  assert.equal(w.extentOf(child).ownedPages, 1);
  assert.equal(w.extentOf(parent).ownedPages, 3);
  // The page still shows at the same IPA, now read-only: the child's access.
  assert.deepEqual(w.vmA.memory.readBytes(0x10_1000, 2), new Uint8Array([1, 2]));
  assert.equal(w.vmA.memory.writeBytes(0x10_1000, new Uint8Array([9])), GH_ERROR.ADDR_INVALID);
  assert.equal(w.vmA.memory.writeBytes(0x10_2000, new Uint8Array([9])), GH_ERROR.OK, 'the parent keeps RWX elsewhere');
  // When the child goes, the page is the parent's again, with the parent's access.
  assert.equal(w.err('cspace_delete_cap_from', [w.cspace, child, 0]), GH_ERROR.OK);
  assert.equal(w.extentOf(parent).ownedPages, 4);
  assert.equal(w.vmA.memory.writeBytes(0x10_1000, new Uint8Array([9])), GH_ERROR.OK);
});

test('memextent_configure_derive refuses ranges outside the parent, misalignment and more access than the parent', () => {
  const w = memWorld();
  const parent = w.extent(PHYS, MIB, extentAttrs(RW, BASIC, MEMEXTENT_MEMTYPE.UNCACHED));
  const me = w.create('memextent');
  const derive = (offset: number | bigint, size: number | bigint, attrs: number) =>
    w.err('memextent_configure_derive', [me, parent, offset, size, attrs, 0]);
  const ok = extentAttrs(R, BASIC, MEMEXTENT_MEMTYPE.UNCACHED);
  assert.equal(derive(0, 0, ok), GH_ERROR.ARGUMENT_INVALID, 'empty');
  assert.equal(derive(U64_MAX - 0xfffn, 0x2000, ok), GH_ERROR.ARGUMENT_INVALID, 'wraps');
  assert.equal(derive(MIB, PAGE_SIZE, ok), GH_ERROR.ADDR_INVALID, 'starts past the parent');
  assert.equal(derive(MIB - PAGE_SIZE, 2 * PAGE_SIZE, ok), GH_ERROR.ADDR_INVALID, 'ends past the parent');
  assert.equal(derive(0x800, PAGE_SIZE, ok), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(derive(0, PAGE_SIZE, ok | 0x10), GH_ERROR.ARGUMENT_INVALID, 'reserved bit');
  assert.equal(derive(0, PAGE_SIZE, extentAttrs(RWX, BASIC, MEMEXTENT_MEMTYPE.UNCACHED)), GH_ERROR.ARGUMENT_INVALID, 'X beyond the parent');
  assert.equal(derive(0, PAGE_SIZE, extentAttrs(R, BASIC, MEMEXTENT_MEMTYPE.DEVICE)), GH_ERROR.ARGUMENT_INVALID, 'memtype differs');
  assert.equal(derive(0, PAGE_SIZE, ok), GH_ERROR.OK);
});

test('memextent_configure_derive needs DERIVE on an active parent', () => {
  const w = memWorld();
  const parent = w.extent(PHYS, MIB);
  const noDerive = w.capid(w.extentOf(parent), allRights('memextent') & ~right('memextent', 'derive'));
  const me = w.create('memextent');
  assert.equal(w.err('memextent_configure_derive', [me, noDerive, 0, PAGE_SIZE, extentAttrs(R), 0]), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  const inactive = w.create('memextent');
  assert.equal(w.err('memextent_configure_derive', [me, inactive, 0, PAGE_SIZE, extentAttrs(R), 0]), GH_ERROR.OBJECT_STATE);
});

test('a BASIC child of a range its parent no longer owns fails to activate with MEMDB_NOT_OWNER', () => {
  const w = memWorld();
  const parent = w.extent(PHYS, 4 * PAGE_SIZE);
  w.derived(parent, 0, 2 * PAGE_SIZE, extentAttrs(RW));
  const me = w.create('memextent');
  assert.equal(w.err('memextent_configure_derive', [me, parent, PAGE_SIZE, PAGE_SIZE, extentAttrs(RW), 0]), GH_ERROR.OK);
  assert.equal(w.err('object_activate', [me, 0]), GH_ERROR.MEMDB_NOT_OWNER);
});

test('memextent_modify: ZERO_RANGE (with NOSYNC) zeroes the owned pages of the range', () => {
  const w = memWorld();
  const me = w.extent(PHYS, 4 * PAGE_SIZE);
  assert.equal(w.err('addrspace_map', [w.asA, me, 0x10_0000, mapAttrs(RW), 0, 0, 0]), GH_ERROR.OK);
  w.vmA.memory.writeBytes(0x10_0000, new Uint8Array(4 * PAGE_SIZE).fill(0xee));
  assert.equal(w.err('memextent_modify', [me, nosync(MEMEXTENT_MODIFY_OP.ZERO_RANGE), PAGE_SIZE, 2 * PAGE_SIZE]), GH_ERROR.OK);
  assert.deepEqual(w.vmA.memory.readBytes(0x10_0fff, 1), new Uint8Array([0xee]));
  assert.deepEqual(w.vmA.memory.readBytes(0x10_1000, 2 * PAGE_SIZE), new Uint8Array(2 * PAGE_SIZE));
  assert.deepEqual(w.vmA.memory.readBytes(0x10_3000, 1), new Uint8Array([0xee]));
});

test('memextent_modify: NOSYNC is required by range operations and refused by SYNC_ALL', () => {
  const w = memWorld();
  const me = w.extent(PHYS, MIB);
  const modify = (flags: number, offset = 0, size = PAGE_SIZE) => w.err('memextent_modify', [me, flags, offset, size]);
  assert.equal(modify(MEMEXTENT_MODIFY_OP.ZERO_RANGE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(modify(MEMEXTENT_MODIFY_OP.CACHE_CLEAN_RANGE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(modify(MEMEXTENT_MODIFY_OP.CACHE_FLUSH_RANGE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(modify(nosync(MEMEXTENT_MODIFY_OP.CACHE_CLEAN_RANGE)), GH_ERROR.OK);
  assert.equal(modify(nosync(MEMEXTENT_MODIFY_OP.CACHE_FLUSH_RANGE)), GH_ERROR.OK);
  assert.equal(modify(MEMEXTENT_MODIFY_OP.SYNC_ALL), GH_ERROR.OK);
  assert.equal(modify(nosync(MEMEXTENT_MODIFY_OP.SYNC_ALL)), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(modify(4), GH_ERROR.ARGUMENT_INVALID, 'unknown op');
  assert.equal(modify(0x100 | MEMEXTENT_MODIFY_OP.SYNC_ALL), GH_ERROR.ARGUMENT_INVALID, 'reserved bits');
});

test('memextent_modify range errors: alignment, empty, outside the extent, read-only or device extent', () => {
  const w = memWorld();
  const me = w.extent(PHYS, MIB);
  const zero = nosync(MEMEXTENT_MODIFY_OP.ZERO_RANGE);
  const modify = (cap: bigint, offset: number | bigint, size: number) => w.err('memextent_modify', [cap, zero, offset, size]);
  assert.equal(modify(me, 0x800, PAGE_SIZE), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(modify(me, 0, 0), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(modify(me, MIB, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(modify(me, U64_MAX - 0xfffn, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID, 'base + offset wraps');
  const readOnly = w.extent(PHYS + MIB, MIB, extentAttrs(R));
  assert.equal(modify(readOnly, 0, PAGE_SIZE), GH_ERROR.DENIED);
  const device = w.extent(PHYS + 2 * MIB, MIB, extentAttrs(RW, BASIC, MEMEXTENT_MEMTYPE.DEVICE));
  assert.equal(modify(device, 0, PAGE_SIZE), GH_ERROR.DENIED);
  const noMap = w.capid(w.extentOf(me), allRights('memextent') & ~right('memextent', 'map'));
  assert.equal(modify(noMap, 0, PAGE_SIZE), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
});

test('memextent_modify UNMAP_ALL removes the extent from every address space', () => {
  const w = memWorld();
  const me = w.extent(PHYS, PAGE_SIZE);
  assert.equal(w.err('addrspace_map', [w.asA, me, 0x10_0000, mapAttrs(RW), 0, 0, 0]), GH_ERROR.OK);
  assert.equal(w.err('addrspace_map', [w.asB, me, 0x20_0000, mapAttrs(RW), 0, 0, 0]), GH_ERROR.OK);
  assert.equal(w.err('memextent_modify', [me, MEMEXTENT_MODIFY_OP.UNMAP_ALL, 0, 0]), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(0x10_0000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.vmB.memory.readBytes(0x20_0000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.extentOf(me).mappings.length, 0);
});

/** A sparse root extent and the partition donating pages into it. */
function sparseWorld() {
  const w = memWorld();
  const root = w.extent(PHYS, 16 * PAGE_SIZE, extentAttrs(RWX, SPARSE));
  const donate = (type: number, from: bigint, to: bigint, offset: number | bigint, size: number | bigint) =>
    w.err('memextent_donate', [type, from, to, offset, size, 0]);
  return { ...w, root, donate };
}

test('memextent_donate TO_CHILD from the partition gives a SPARSE extent pages; its mapping shows only those', () => {
  const w = sparseWorld();
  assert.equal(w.extentOf(w.root).ownedPages, 0, 'a SPARSE extent starts empty');
  assert.equal(w.err('addrspace_map', [w.asA, w.root, 0x10_0000, mapAttrs(RW), 0, 0, 0]), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(0x10_2000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 2 * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.extentOf(w.root).ownedPages, 1);
  assert.equal(w.vmA.memory.writeBytes(0x10_2000, new Uint8Array([3])), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(0x10_3000, 1), GH_ERROR.ADDR_INVALID);
  // Donating it back hides it again.
  assert.equal(w.donate(DONATE_TYPE.TO_PARENT, w.root, w.partition, 2 * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(0x10_2000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.extentOf(w.root).ownedPages, 0);
});

test('memextent_donate moves ownership: a page can be donated once, then MEMDB_NOT_OWNER', () => {
  const w = sparseWorld();
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0, 4 * PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 3 * PAGE_SIZE, 2 * PAGE_SIZE), GH_ERROR.MEMDB_NOT_OWNER);
  assert.equal(w.donate(DONATE_TYPE.TO_PARENT, w.root, w.partition, 3 * PAGE_SIZE, 2 * PAGE_SIZE), GH_ERROR.MEMDB_NOT_OWNER);
  assert.equal(w.extentOf(w.root).ownedPages, 4, 'a refused donation moves nothing');
  // Pages a BASIC extent owns are not the partition's to donate.
  const basic = w.extent(PHYS + MIB, PAGE_SIZE);
  const sparse2 = w.extent(PHYS + MIB, PAGE_SIZE, extentAttrs(RW, SPARSE));
  assert.ok(basic);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, sparse2, 0, PAGE_SIZE), GH_ERROR.MEMDB_NOT_OWNER);
});

test('memextent_donate TO_SIBLING moves pages between extents of one parent, and the mappings follow', () => {
  const w = sparseWorld();
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0, 8 * PAGE_SIZE), GH_ERROR.OK);
  const host = w.derived(w.root, 0, 8 * PAGE_SIZE, extentAttrs(RWX, SPARSE));
  const guest = w.derived(w.root, 0, 8 * PAGE_SIZE, extentAttrs(RWX, SPARSE));
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.root, host, 0, 8 * PAGE_SIZE), GH_ERROR.OK);
  // Host memory identity-mapped in VM A, the guest extent mapped in VM B at 0x40_0000.
  assert.equal(w.err('addrspace_map', [w.asA, host, PHYS, mapAttrs(RWX), 0, 0, 0]), GH_ERROR.OK);
  assert.equal(w.err('addrspace_map', [w.asB, guest, 0x40_0000, mapAttrs(RW), 0, 0, 0]), GH_ERROR.OK);
  w.vmA.memory.writeBytes(PHYS + 0x3000, Buffer.from('dtb!'));
  assert.equal(w.donate(DONATE_TYPE.TO_SIBLING, host, guest, 3 * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(PHYS + 0x3000, 4), GH_ERROR.ADDR_INVALID, 'the host lost it');
  assert.equal(Buffer.from(w.vmB.memory.readBytes(0x40_3000, 4) as Uint8Array).toString(), 'dtb!', 'the guest sees the same bytes');
  // Linux v15+ lends with TO_PROTECTED and reclaims with FROM_PROTECTED: sibling donations too.
  assert.equal(w.donate(DONATE_TYPE.FROM_PROTECTED, guest, host, 3 * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(Buffer.from(w.vmA.memory.readBytes(PHYS + 0x3000, 4) as Uint8Array).toString(), 'dtb!');
  assert.equal(w.vmB.memory.readBytes(0x40_3000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(w.donate(DONATE_TYPE.TO_PROTECTED, host, guest, 0, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.extentOf(guest).ownedPages, 1);
});

test('memextent_donate refuses bad options, ranges and extent kinds', () => {
  const w = sparseWorld();
  assert.equal(w.donate(0x100, w.partition, w.root, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID, 'reserved option bits');
  assert.equal(w.donate(5, w.partition, w.root, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID, 'unknown type');
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0x800, PAGE_SIZE), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0, 0x800), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0, 0), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 15 * PAGE_SIZE, 2 * PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID, 'past the end');
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, U64_MAX - 0xfffn, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID, 'wraps');
  const basic = w.extent(PHYS + MIB, PAGE_SIZE);
  assert.equal(w.donate(DONATE_TYPE.TO_PARENT, basic, w.partition, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID, 'BASIC extents do not donate');
  const noDonate = w.capid(w.extentOf(w.root), allRights('memextent') & ~right('memextent', 'donate'));
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, noDonate, 0, PAGE_SIZE), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  const weakPartition = w.capid(w.hyp.root, allRights('partition') & ~right('partition', 'donate'));
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, weakPartition, w.root, 0, PAGE_SIZE), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  // Children of different parents are not siblings; a root extent has no siblings; the parent cap must be the parent.
  const other = w.extent(PHYS + 2 * MIB, 16 * PAGE_SIZE, extentAttrs(RWX, SPARSE));
  const childA = w.derived(w.root, 0, PAGE_SIZE, extentAttrs(RW, SPARSE));
  const childB = w.derived(other, 0, PAGE_SIZE, extentAttrs(RW, SPARSE));
  assert.equal(w.donate(DONATE_TYPE.TO_SIBLING, childA, childB, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.donate(DONATE_TYPE.TO_SIBLING, w.root, other, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, other, childA, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.donate(DONATE_TYPE.TO_SIBLING, childA, childA, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0, PAGE_SIZE, ), GH_ERROR.OK);
  assert.equal(w.err('memextent_donate', [DONATE_TYPE.TO_CHILD, w.partition, w.root, PAGE_SIZE, PAGE_SIZE, 1]), GH_ERROR.ARGUMENT_INVALID, 'R0');
});

test('a device extent cannot be mapped as normal memory', () => {
  const w = memWorld();
  const device = w.extent(PHYS, PAGE_SIZE, extentAttrs(RW, BASIC, MEMEXTENT_MEMTYPE.DEVICE));
  assert.equal(w.err('addrspace_map', [w.asA, device, 0x10_0000, mapAttrs(RW, PGTABLE_VM_MEMTYPE.NORMAL_WB), 0, 0, 0]), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.err('addrspace_map', [w.asA, device, 0x10_0000, mapAttrs(RW, PGTABLE_VM_MEMTYPE.DEVICE_NGNRE), 0, 0, 0]), GH_ERROR.OK);
  const uncached = w.extent(PHYS + MIB, PAGE_SIZE, extentAttrs(RW, BASIC, MEMEXTENT_MEMTYPE.UNCACHED));
  assert.equal(w.err('addrspace_map', [w.asA, uncached, 0x20_0000, mapAttrs(RW, PGTABLE_VM_MEMTYPE.NORMAL_WB), 0, 0, 0]), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.err('addrspace_map', [w.asA, uncached, 0x20_0000, mapAttrs(RW, PGTABLE_VM_MEMTYPE.NORMAL_NC), 0, 0, 0]), GH_ERROR.OK);
  assert.equal(w.err('addrspace_map', [w.asA, uncached, 0x30_0000, mapAttrs(RW, 4), 0, 0, 0]), GH_ERROR.ARGUMENT_INVALID, 'memtype 4 does not exist');
});

test('RX extents map RX and refuse W', () => {
  const w = memWorld();
  const me = w.extent(PHYS, PAGE_SIZE, extentAttrs(RX));
  assert.equal(w.err('addrspace_map', [w.asA, me, 0x10_0000, mapAttrs(RW), 0, 0, 0]), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.err('addrspace_map', [w.asA, me, 0x10_0000, mapAttrs(RX), 0, 0, 0]), GH_ERROR.OK);
});

test('a SPARSE child inherits its parent\'s mappings: pages donated to it appear there with the child\'s access', () => {
  const w = sparseWorld();
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.partition, w.root, 0, 4 * PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.err('addrspace_map', [w.asA, w.root, 0x10_0000, mapAttrs(RWX), 0, 0, 0]), GH_ERROR.OK);
  const child = w.derived(w.root, 0, 4 * PAGE_SIZE, extentAttrs(R, SPARSE));
  assert.equal(w.extentOf(child).mappings.length, 1, 'the parent\'s mapping, inherited');
  assert.equal(w.vmA.memory.writeBytes(0x10_1000, new Uint8Array([1])), GH_ERROR.OK, 'still the parent\'s page');
  assert.equal(w.donate(DONATE_TYPE.TO_CHILD, w.root, child, PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.deepEqual(w.vmA.memory.readBytes(0x10_1000, 1), new Uint8Array([1]), 'same IPA, same contents');
  assert.equal(w.vmA.memory.writeBytes(0x10_1000, new Uint8Array([2])), GH_ERROR.ADDR_INVALID, 'now with the child\'s R');
  assert.equal(w.donate(DONATE_TYPE.TO_PARENT, child, w.root, PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(0x10_1000, new Uint8Array([2])), GH_ERROR.OK);
});
