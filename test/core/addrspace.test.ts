import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import {
  ADDRSPACE_MAX_VMMIO_RANGES, DONATE_TYPE, MAP_FLAG, MEMEXTENT_MAX_MAPPINGS, MEMEXTENT_TYPE, PAGE_SIZE, PGTABLE_ACCESS,
  PGTABLE_VM_MEMTYPE, VMMIO_OP,
} from '../../core/abi/memory.js';
import { allRights, right, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import type { Addrspace } from '../../core/mem/addrspace.js';
import type { Vcpu } from '../../core/vm/vcpu.js';
import { extentAttrs, GUEST_A, mapAttrs, memWorld } from './mem-fixture.js';

const { R, RW, RWX } = PGTABLE_ACCESS;
const PHYS = 0x8000_0000;
const MIB = 0x10_0000;
const IPA = 0x1000_0000;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const { PARTIAL } = MAP_FLAG;

/** addrspace_map / unmap / update_access with the reserved trailing arguments filled in. */
function calls(w: ReturnType<typeof memWorld>) {
  return {
    map: (as: bigint, me: bigint, vbase: number | bigint, attrs: number, flags = 0, offset: number | bigint = 0, size: number | bigint = 0) =>
      w.err('addrspace_map', [as, me, vbase, attrs, flags, offset, size]),
    unmap: (as: bigint, me: bigint, vbase: number | bigint, flags = 0, offset: number | bigint = 0, size: number | bigint = 0) =>
      w.err('addrspace_unmap', [as, me, vbase, flags, offset, size]),
    update: (as: bigint, me: bigint, vbase: number | bigint, access: number, flags = 0, offset = 0, size = 0) =>
      w.err('addrspace_update_access', [as, me, vbase, access | (access << 4), flags, offset, size]),
  };
}

test('addrspace_map makes the extent readable and writable at the IPA; addrspace_unmap takes it away', () => {
  const w = memWorld();
  const { map, unmap } = calls(w);
  const me = w.extent(PHYS, 2 * PAGE_SIZE);
  assert.equal(w.vmA.memory.readBytes(IPA, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(IPA + PAGE_SIZE + 8, new Uint8Array([7, 8])), GH_ERROR.OK);
  assert.deepEqual(w.vmA.memory.readBytes(IPA + PAGE_SIZE + 8, 2), new Uint8Array([7, 8]));
  assert.equal(w.hyp.phys.residentPages, 1, 'physical pages materialise on first touch');
  assert.equal(unmap(w.asA, me, IPA), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(IPA + PAGE_SIZE + 8, 2), GH_ERROR.ADDR_INVALID);
  assert.equal(unmap(w.asA, me, IPA), GH_ERROR.ADDR_INVALID, 'no such mapping any more');
});

test('a page mapped into two address spaces shows writes from either', () => {
  const w = memWorld();
  const { map } = calls(w);
  const me = w.extent(PHYS, PAGE_SIZE);
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(map(w.asB, me, 0x2000_0000, mapAttrs(RW)), GH_ERROR.OK);
  w.vmA.memory.writeBytes(IPA + 100, Buffer.from('from a'));
  w.vmB.memory.writeBytes(0x2000_0000 + 200, Buffer.from('from b'));
  assert.equal(Buffer.from(w.vmB.memory.readBytes(0x2000_0000 + 100, 6) as Uint8Array).toString(), 'from a');
  assert.equal(Buffer.from(w.vmA.memory.readBytes(IPA + 200, 6) as Uint8Array).toString(), 'from b');
});

test('a read-only mapping refuses writes with ADDR_INVALID and still reads', () => {
  const w = memWorld();
  const { map } = calls(w);
  const me = w.extent(PHYS, PAGE_SIZE);
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(map(w.asB, me, IPA, mapAttrs(R)), GH_ERROR.OK);
  w.vmA.memory.writeBytes(IPA, new Uint8Array([1]));
  assert.deepEqual(w.vmB.memory.readBytes(IPA, 1), new Uint8Array([1]));
  assert.equal(w.vmB.memory.writeBytes(IPA, new Uint8Array([2])), GH_ERROR.ADDR_INVALID);
  assert.deepEqual(w.vmA.memory.readBytes(IPA, 1), new Uint8Array([1]));
});

test('addrspace_map refuses more access than the extent has, and reserved bits', () => {
  const w = memWorld();
  const { map } = calls(w);
  const me = w.extent(PHYS, PAGE_SIZE, extentAttrs(R));
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(map(w.asA, me, IPA, R | (RW << 4)), GH_ERROR.ARGUMENT_INVALID, 'kernel access beyond the extent');
  assert.equal(map(w.asA, me, IPA, mapAttrs(R) | 0x8), GH_ERROR.ARGUMENT_INVALID, 'reserved attrs bit 3');
  assert.equal(map(w.asA, me, IPA, mapAttrs(R) | 0x100_0000), GH_ERROR.ARGUMENT_INVALID, 'reserved attrs bit 24');
  assert.equal(map(w.asA, me, IPA, mapAttrs(R), 0x10), GH_ERROR.ARGUMENT_INVALID, 'reserved flags bit 4');
  assert.equal(map(w.asA, me, IPA, mapAttrs(R), MAP_FLAG.PRIVATE | MAP_FLAG.VMMIO), GH_ERROR.OK, 'Linux v15+ flags');
});

test('addrspace_map: alignment, overflow and the address-space limit', () => {
  const w = memWorld();
  const { map } = calls(w);
  const me = w.extent(PHYS, 2 * PAGE_SIZE);
  assert.equal(map(w.asA, me, IPA + 0x800, mapAttrs(RW)), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(map(w.asA, me, U64_MAX - 0xfffn, mapAttrs(RW)), GH_ERROR.ADDR_OVERFLOW, 'the last page of the extent wraps');
  assert.equal(map(w.asA, me, 1n << 60n, mapAttrs(RW)), GH_ERROR.ADDR_INVALID, 'beyond the IPA space');
});

test('addrspace_map: at most four mappings per extent, then MEMEXTENT_MAPPINGS_FULL', () => {
  const w = memWorld();
  const { map, unmap } = calls(w);
  const me = w.extent(PHYS, PAGE_SIZE);
  for (let i = 0; i < MEMEXTENT_MAX_MAPPINGS; i++) assert.equal(map(w.asA, me, IPA + i * MIB, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(map(w.asB, me, IPA, mapAttrs(RW)), GH_ERROR.MEMEXTENT_MAPPINGS_FULL);
  assert.equal(unmap(w.asA, me, IPA + MIB), GH_ERROR.OK);
  assert.equal(map(w.asB, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
});

test('addrspace_map over a mapped IPA is EXISTING_MAPPING and changes nothing', () => {
  const w = memWorld();
  const { map } = calls(w);
  const first = w.extent(PHYS, 2 * PAGE_SIZE);
  const second = w.extent(PHYS + MIB, 2 * PAGE_SIZE);
  assert.equal(map(w.asA, first, IPA, mapAttrs(RW)), GH_ERROR.OK);
  w.vmA.memory.writeBytes(IPA + PAGE_SIZE, new Uint8Array([5]));
  assert.equal(map(w.asA, second, IPA + PAGE_SIZE, mapAttrs(RW)), GH_ERROR.EXISTING_MAPPING);
  assert.deepEqual(w.vmA.memory.readBytes(IPA + PAGE_SIZE, 1), new Uint8Array([5]));
  assert.equal(w.extentOf(second).mappings.length, 0);
  // RAM the VM was created with counts as mapped too.
  const { vm } = w.hyp.createVm({ vmid: 0x90, name: 'ram', vcpus: 1, ram: { base: IPA, size: MIB }, manager: w.rm.cspace });
  const asRam = w.rm.cspace.capid(w.rm.cspace.findCap(vm.addrspace)!.slot);
  assert.equal(map(asRam, second, IPA + MIB - PAGE_SIZE, mapAttrs(RW)), GH_ERROR.EXISTING_MAPPING);
});

test('addrspace_map and unmap need MAP on both the address space and the extent', () => {
  const w = memWorld();
  const { map, unmap } = calls(w);
  const me = w.extent(PHYS, PAGE_SIZE);
  const as = w.object<Addrspace>(w.asA);
  const asNoMap = w.capid(as, allRights('addrspace') & ~right('addrspace', 'map'));
  const meNoMap = w.capid(w.extentOf(me), allRights('memextent') & ~right('memextent', 'map'));
  assert.equal(map(asNoMap, me, IPA, mapAttrs(RW)), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(map(w.asA, meNoMap, IPA, mapAttrs(RW)), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(map(w.asA, w.asB, IPA, mapAttrs(RW)), GH_ERROR.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(unmap(asNoMap, me, IPA), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(unmap(w.asA, meNoMap, IPA), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(unmap(w.asA, me, IPA + 0x10), GH_ERROR.ARGUMENT_ALIGNMENT);
  const inactive = w.create('memextent');
  assert.equal(map(w.asA, inactive, IPA, mapAttrs(RW)), GH_ERROR.OBJECT_STATE);
});

test('PARTIAL maps part of a SPARSE extent; BASIC extents refuse it', () => {
  const w = memWorld();
  const { map, unmap } = calls(w);
  const basic = w.extent(PHYS, 4 * PAGE_SIZE);
  assert.equal(map(w.asA, basic, IPA, mapAttrs(RW), PARTIAL, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(unmap(w.asA, basic, IPA, PARTIAL, 0, PAGE_SIZE), GH_ERROR.ARGUMENT_INVALID);
  const sparse = w.extent(PHYS + MIB, 8 * PAGE_SIZE, extentAttrs(RWX, MEMEXTENT_TYPE.SPARSE));
  assert.equal(w.err('memextent_donate', [0, w.partition, sparse, 0, 8 * PAGE_SIZE, 0]), GH_ERROR.OK);
  assert.equal(map(w.asA, sparse, IPA, mapAttrs(RW), PARTIAL, 2 * PAGE_SIZE, 2 * PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(IPA + PAGE_SIZE, new Uint8Array([1])), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(IPA + 2 * PAGE_SIZE, 1), GH_ERROR.ADDR_INVALID, 'only two pages');
  // Other ranges of the same extent share the address space's mapping slot.
  for (let i = 0; i < 4; i++) {
    assert.equal(map(w.asA, sparse, 0x3000_0000 + i * MIB, mapAttrs(R), PARTIAL, (4 + i) * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  }
  assert.equal(w.extentOf(sparse).mappings.length, 5);
  assert.equal(new Set(w.extentOf(sparse).mappings.map((m) => m.slot)).size, 1);
  // Unmapping one page of the middle splits the mapping.
  assert.equal(unmap(w.asA, sparse, IPA, PARTIAL, 2 * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.vmA.memory.readBytes(IPA, 1), GH_ERROR.ADDR_INVALID);
  assert.deepEqual(w.vmA.memory.readBytes(IPA + PAGE_SIZE, 1), new Uint8Array([1]));
  assert.equal(unmap(w.asA, sparse, IPA, PARTIAL, 2 * PAGE_SIZE, 2 * PAGE_SIZE), GH_ERROR.ADDR_INVALID, 'partly unmapped already');
  assert.equal(unmap(w.asA, sparse, IPA + PAGE_SIZE, PARTIAL, 3 * PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
});

test('PARTIAL range errors: alignment, empty, past the extent', () => {
  const w = memWorld();
  const { map } = calls(w);
  const sparse = w.extent(PHYS, 8 * PAGE_SIZE, extentAttrs(RWX, MEMEXTENT_TYPE.SPARSE));
  assert.equal(map(w.asA, sparse, IPA, mapAttrs(RW), PARTIAL, 0x800, PAGE_SIZE), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(map(w.asA, sparse, IPA, mapAttrs(RW), PARTIAL, 0, 0x800), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(map(w.asA, sparse, IPA, mapAttrs(RW), PARTIAL, 0, 0), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(map(w.asA, sparse, IPA, mapAttrs(RW), PARTIAL, 7 * PAGE_SIZE, 2 * PAGE_SIZE), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(map(w.asA, sparse, U64_MAX - 0xfffn, mapAttrs(RW), PARTIAL, 0, 2 * PAGE_SIZE), GH_ERROR.ARGUMENT_SIZE, 'wraps');
  assert.equal(map(w.asA, sparse, 1n << 60n, mapAttrs(RW), PARTIAL, 0, PAGE_SIZE), GH_ERROR.ADDR_INVALID);
});

test('addrspace_update_access changes a mapping\'s rights, within the extent\'s', () => {
  const w = memWorld();
  const { map, update } = calls(w);
  const me = w.extent(PHYS, 2 * PAGE_SIZE, extentAttrs(RW));
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(update(w.asA, me, IPA, R), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(IPA, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
  assert.equal(update(w.asA, me, IPA, RW), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(IPA, new Uint8Array(1)), GH_ERROR.OK);
  assert.equal(update(w.asA, me, IPA, RWX), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(update(w.asA, me, IPA + MIB, R), GH_ERROR.ADDR_INVALID, 'not mapped there');
  assert.equal(update(w.asA, me, IPA + 0x10, R), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(w.err('addrspace_update_access', [w.asA, me, IPA, R | 0x80, 0, 0, 0]), GH_ERROR.ARGUMENT_INVALID, 'reserved bit 7');
  assert.equal(w.err('addrspace_update_access', [w.asA, me, IPA, R | (PGTABLE_VM_MEMTYPE.NORMAL_WB << 16), 0, 0, 0]), GH_ERROR.ARGUMENT_INVALID, 'no memtype field');
});

test('addrspace_update_access PARTIAL changes part of a SPARSE mapping', () => {
  const w = memWorld();
  const { map, update } = calls(w);
  const sparse = w.extent(PHYS, 4 * PAGE_SIZE, extentAttrs(RW, MEMEXTENT_TYPE.SPARSE));
  assert.equal(w.err('memextent_donate', [0, w.partition, sparse, 0, 4 * PAGE_SIZE, 0]), GH_ERROR.OK);
  assert.equal(map(w.asA, sparse, IPA, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(update(w.asA, sparse, IPA + PAGE_SIZE, R, PARTIAL, PAGE_SIZE, PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(IPA, new Uint8Array(1)), GH_ERROR.OK);
  assert.equal(w.vmA.memory.writeBytes(IPA + PAGE_SIZE, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
  assert.equal(w.vmA.memory.writeBytes(IPA + 2 * PAGE_SIZE, new Uint8Array(1)), GH_ERROR.OK);
});

test('addrspace_lookup returns the extent offset, size and map_attrs of a mapped range', () => {
  const w = memWorld();
  const { map } = calls(w);
  const me = w.extent(PHYS, 4 * PAGE_SIZE);
  assert.equal(map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  const r = w.call('addrspace_lookup', [w.asA, me, IPA + PAGE_SIZE, 8 * PAGE_SIZE, 0]);
  assert.equal(r.err, GH_ERROR.OK);
  assert.equal(r.x[1], BigInt(PAGE_SIZE), 'offset in the extent');
  assert.equal(r.x[2], BigInt(3 * PAGE_SIZE), 'the mapping ends after three pages');
  assert.equal(r.x[3], BigInt(mapAttrs(RW)));
  const lookup = (as: bigint, ext: bigint, vbase: number | bigint, size: number | bigint) =>
    w.err('addrspace_lookup', [as, ext, vbase, size, 0]);
  assert.equal(lookup(w.asA, me, IPA, 0), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(lookup(w.asA, me, U64_MAX - 0xfffn, 2 * PAGE_SIZE), GH_ERROR.ADDR_OVERFLOW);
  assert.equal(lookup(w.asA, me, IPA + 8, PAGE_SIZE), GH_ERROR.ARGUMENT_ALIGNMENT);
  assert.equal(lookup(w.asA, me, IPA + MIB, PAGE_SIZE), GH_ERROR.ADDR_INVALID);
  const other = w.extent(PHYS + MIB, PAGE_SIZE);
  assert.equal(lookup(w.asA, other, IPA, PAGE_SIZE), GH_ERROR.MEMDB_NOT_OWNER);
  const noLookup = w.capid(w.object<Addrspace>(w.asA), allRights('addrspace') & ~right('addrspace', 'lookup'));
  assert.equal(lookup(noLookup, me, IPA, PAGE_SIZE), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
});

test('addrspace_configure: a non-zero 16-bit VMID, only before activation', () => {
  const w = memWorld();
  const as = w.create('addrspace');
  assert.equal(w.err('addrspace_configure', [as, 0, 0]), GH_ERROR.ARGUMENT_INVALID, 'VMID 0 is the hypervisor');
  assert.equal(w.err('addrspace_configure', [as, 0x1_0000, 0]), GH_ERROR.ARGUMENT_INVALID);
  assert.equal(w.err('object_activate', [as, 0]), GH_ERROR.OBJECT_CONFIG);
  assert.equal(w.err('addrspace_configure', [as, 0x42, 0]), GH_ERROR.OK);
  assert.equal(w.err('object_activate', [as, 0]), GH_ERROR.OK);
  assert.equal(w.err('addrspace_configure', [as, 0x43, 0]), GH_ERROR.OBJECT_STATE);
  const noActivate = w.capid(w.object<Addrspace>(as), allRights('addrspace') & ~RIGHT_ACTIVATE);
  assert.equal(w.err('addrspace_configure', [noActivate, 0x43, 0]), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
});

test('addrspace_attach_thread puts a new vCPU in the VM that owns the address space', () => {
  const w = memWorld();
  const thread = w.create('thread');
  assert.equal(w.err('addrspace_attach_thread', [w.asA, thread, 0]), GH_ERROR.OK);
  const vcpu = w.object<Vcpu>(thread);
  assert.equal(vcpu.vm, w.vmA);
  assert.ok(w.object<Addrspace>(w.asA).threads.has(vcpu));
  // Attaching elsewhere moves it.
  assert.equal(w.err('addrspace_attach_thread', [w.asB, thread, 0]), GH_ERROR.OK);
  assert.equal(vcpu.vm, w.vmB);
  assert.equal(w.object<Addrspace>(w.asA).threads.has(vcpu), false);
  assert.equal(w.vmA.vmid, GUEST_A);
});

test('addrspace_attach_thread errors: not a thread, active thread, inactive address space, missing rights', () => {
  const w = memWorld();
  const thread = w.create('thread');
  assert.equal(w.err('addrspace_attach_thread', [w.asA, w.asB, 0]), GH_ERROR.CSPACE_WRONG_OBJECT_TYPE);
  const noAttach = w.capid(w.object<Addrspace>(w.asA), allRights('addrspace') & ~right('addrspace', 'attach'));
  assert.equal(w.err('addrspace_attach_thread', [noAttach, thread, 0]), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  const inactive = w.create('addrspace');
  assert.equal(w.err('addrspace_attach_thread', [inactive, thread, 0]), GH_ERROR.OBJECT_STATE);
  const running = w.capid(w.vmA.vcpus[0]!);
  assert.equal(w.err('addrspace_attach_thread', [w.asA, running, 0]), GH_ERROR.OBJECT_STATE);
  const noActivate = w.capid(w.object<Vcpu>(thread), allRights('thread') & ~RIGHT_ACTIVATE);
  assert.equal(w.err('addrspace_attach_thread', [w.asA, noActivate, 0]), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
});

test('addrspace_configure_vmmio adds and removes ranges; faults there are reported for vcpu_run', () => {
  const w = memWorld();
  const vmmio = (base: number | bigint, size: number | bigint, op: number) => w.err('addrspace_configure_vmmio', [w.asA, base, size, op, 0]);
  const as = w.object<Addrspace>(w.asA);
  assert.equal(vmmio(0x900_0000, 0x200, VMMIO_OP.ADD_RANGE), GH_ERROR.OK);
  assert.deepEqual(as.vmmioRanges, [{ base: 0x900_0000, size: 0x200 }]);
  assert.deepEqual(as.vmmioFault(0x900_0010, 4, true, 0xabn), { ipa: 0x900_0010, size: 4, write: true, value: 0xabn });
  assert.deepEqual(as.vmmioFault(0x900_0100, 8, false), { ipa: 0x900_0100, size: 8, write: false, value: 0n });
  assert.equal(as.vmmioFault(0x900_01fc, 8, false), null, 'crosses the end of the range');
  assert.equal(as.vmmioFault(0x800_0000, 4, false), null, 'outside every range');
  assert.equal(vmmio(0x900_0100, 0x200, VMMIO_OP.ADD_RANGE), GH_ERROR.ARGUMENT_INVALID, 'overlaps');
  assert.equal(vmmio(0x900_0000, 0x100, VMMIO_OP.REMOVE_RANGE), GH_ERROR.ARGUMENT_INVALID, 'must match exactly');
  assert.equal(vmmio(0x900_0000, 0x200, VMMIO_OP.REMOVE_RANGE), GH_ERROR.OK);
  assert.equal(as.vmmioFault(0x900_0010, 4, false), null);
  assert.equal(vmmio(0x900_0000, 0, VMMIO_OP.ADD_RANGE), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(vmmio(U64_MAX - 0xffn, 0x100, VMMIO_OP.ADD_RANGE), GH_ERROR.ADDR_OVERFLOW, 'the end does not fit in 64 bits');
  assert.equal(vmmio(1n << 60n, 0x100, VMMIO_OP.ADD_RANGE), GH_ERROR.ADDR_INVALID);
  assert.equal(vmmio(0x900_0000, 0x100, 2), GH_ERROR.UNIMPLEMENTED, 'unknown op');
  for (let i = 0; i < ADDRSPACE_MAX_VMMIO_RANGES; i++) assert.equal(vmmio(i * 0x1000, 0x10, VMMIO_OP.ADD_RANGE), GH_ERROR.OK);
  assert.equal(vmmio(0x1000_0000, 0x10, VMMIO_OP.ADD_RANGE), GH_ERROR.NORESOURCES);
  const noRight = w.capid(as, allRights('addrspace') & ~right('addrspace', 'add_vmmio_range'));
  assert.equal(w.err('addrspace_configure_vmmio', [noRight, 0x1000_0000, 0x10, 0, 0]), GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
});

test('a mapped page is never a VMMIO fault', () => {
  const w = memWorld();
  const me = w.extent(PHYS, PAGE_SIZE);
  assert.equal(w.err('addrspace_configure_vmmio', [w.asA, IPA, MIB, VMMIO_OP.ADD_RANGE, 0]), GH_ERROR.OK);
  assert.equal(calls(w).map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  const as = w.object<Addrspace>(w.asA);
  assert.equal(as.vmmioFault(IPA + 8, 4, false), null);
  assert.notEqual(as.vmmioFault(IPA + PAGE_SIZE, 4, false), null);
});

test('destroying an address space frees the extent\'s mapping slots', () => {
  const w = memWorld();
  const me = w.extent(PHYS, PAGE_SIZE);
  const as = w.create('addrspace');
  assert.equal(w.err('addrspace_configure', [as, 0x70, 0]), GH_ERROR.OK);
  assert.equal(w.err('object_activate', [as, 0]), GH_ERROR.OK);
  for (let i = 0; i < MEMEXTENT_MAX_MAPPINGS; i++) assert.equal(calls(w).map(as, me, IPA + i * MIB, mapAttrs(RW)), GH_ERROR.OK);
  assert.equal(w.err('cspace_delete_cap_from', [w.cspace, as, 0]), GH_ERROR.OK);
  assert.equal(w.extentOf(me).mappings.length, 0);
  assert.equal(calls(w).map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
});

test('mapping a 256 MiB extent is fast and materialises no memory', () => {
  const w = memWorld();
  const me = w.extent(PHYS, 256 * MIB);
  const start = performance.now();
  assert.equal(calls(w).map(w.asA, me, IPA, mapAttrs(RW)), GH_ERROR.OK);
  const ms = performance.now() - start;
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  assert.equal(w.hyp.phys.residentPages, 0);
  assert.equal(w.vmA.memory.writeBytes(IPA + 256 * MIB - 1, new Uint8Array([1])), GH_ERROR.OK);
  assert.equal(w.hyp.phys.residentPages, 1);
});

test('Linux v15+ demand paging: donate a host folio TO_PROTECTED, map it PARTIAL into the guest, then take it back', () => {
  const w = memWorld();
  const { map, unmap } = calls(w);
  const HOST_RAM = 0x8000_0000;
  const ALL = 2 ** 36; // extents span the physical address space; offsets are physical addresses (L-CL vm_mgr_mem.c)
  const sparse = extentAttrs(RWX, MEMEXTENT_TYPE.SPARSE);
  const root = w.extent(0, ALL, sparse);
  assert.equal(w.err('memextent_donate', [0, w.partition, root, HOST_RAM, 16 * MIB, 0]), GH_ERROR.OK);
  const hostPrivate = w.derived(root, 0, ALL, sparse);
  const guestPrivate = w.derived(root, 0, ALL, sparse);
  assert.equal(w.err('memextent_donate', [0, root, hostPrivate, HOST_RAM, 16 * MIB, 0]), GH_ERROR.OK);
  // The host's memory is identity-mapped (IPA = PA) in VM A; VM B is the guest.
  assert.equal(map(w.asA, hostPrivate, 0, mapAttrs(RWX)), GH_ERROR.OK);
  const folio = HOST_RAM + 5 * MIB;
  w.vmA.memory.writeBytes(folio, Buffer.from('guest kernel'));
  // gunyah_vm_provide_folio (lend): donate TO_PROTECTED, then addrspace_map PARTIAL | PRIVATE at the guest address.
  assert.equal(w.err('memextent_donate', [DONATE_TYPE.TO_PROTECTED, hostPrivate, guestPrivate, folio, 2 * PAGE_SIZE, 0]), GH_ERROR.OK);
  assert.equal(map(w.asB, guestPrivate, 0x8000_0000, mapAttrs(RWX), PARTIAL | MAP_FLAG.PRIVATE, folio, 2 * PAGE_SIZE), GH_ERROR.OK);
  assert.equal(Buffer.from(w.vmB.memory.readBytes(0x8000_0000, 12) as Uint8Array).toString(), 'guest kernel');
  assert.equal(w.vmA.memory.readBytes(folio, 1), GH_ERROR.ADDR_INVALID, 'the host no longer sees its lent folio');
  // __gunyah_vm_reclaim_folio_locked: addrspace_unmap PARTIAL, then donate FROM_PROTECTED back.
  assert.equal(unmap(w.asB, guestPrivate, 0x8000_0000, PARTIAL | MAP_FLAG.PRIVATE, folio, 2 * PAGE_SIZE), GH_ERROR.OK);
  assert.equal(w.err('memextent_donate', [DONATE_TYPE.FROM_PROTECTED, guestPrivate, hostPrivate, folio, 2 * PAGE_SIZE, 0]), GH_ERROR.OK);
  assert.equal(Buffer.from(w.vmA.memory.readBytes(folio, 12) as Uint8Array).toString(), 'guest kernel');
  assert.equal(w.vmB.memory.readBytes(0x8000_0000, 1), GH_ERROR.ADDR_INVALID);
});
