// A small world for the memory tests: an RM-like VM (VMID 0xFF) holding caps to the root partition, its own
// cspace and two guest VMs' address spaces, making memory hypercalls as the RM does.
import { GH_ERROR } from '../../core/abi/errors.js';
import type { HypercallName } from '../../core/abi/hypercalls.js';
import { MEMEXTENT_ATTRS, MEMEXTENT_MEMTYPE, MEMEXTENT_TYPE, PGTABLE_ACCESS, PGTABLE_VM_MEMTYPE, MAP_ATTRS } from '../../core/abi/memory.js';
import { allRights, type ObjectType } from '../../core/abi/objects.js';
import { hvc } from '../../core/hyp/call.js';
import type { HypObject } from '../../core/hyp/object.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { Memextent } from '../../core/mem/memextent.js';

export const GUEST_A = 0x80;
export const GUEST_B = 0x81;

/** memextent_attrs for `access`, a BASIC or SPARSE extent of memtype ANY unless told. */
export const extentAttrs = (access: number, type: number = MEMEXTENT_TYPE.BASIC, memtype: number = MEMEXTENT_MEMTYPE.ANY) =>
  access | (memtype << MEMEXTENT_ATTRS.MEMTYPE_SHIFT) | (type << MEMEXTENT_ATTRS.TYPE_SHIFT);

/** map_attrs: the same user and kernel access, normal write-back memory unless told. */
export const mapAttrs = (access: number, memtype: number = PGTABLE_VM_MEMTYPE.NORMAL_WB) =>
  access | (access << MAP_ATTRS.KERNEL_ACCESS_SHIFT) | (memtype << MAP_ATTRS.MEMTYPE_SHIFT);

export function memWorld() {
  const hyp = new Hypervisor({ seed: 7 });
  const { vm: rm } = hyp.createVm({ vmid: 0xff, name: 'rm', vcpus: 1 });
  const a = hyp.createVm({ vmid: GUEST_A, name: 'a', vcpus: 1, manager: rm.cspace });
  const b = hyp.createVm({ vmid: GUEST_B, name: 'b', vcpus: 1, manager: rm.cspace });
  const vcpu = rm.vcpus[0]!;
  const capid = (object: HypObject, rights?: number): bigint => {
    const cap = rm.cspace.insert(object, rights ?? allRights(object.type));
    if (typeof cap === 'number') throw new Error(`insert: ${cap}`);
    return rm.cspace.capid(cap.slot);
  };
  const partition = capid(hyp.root);
  const cspace = capid(rm.cspace);
  const call = (name: HypercallName, args: readonly (bigint | number)[]) => hvc(vcpu, name, args);
  const err = (name: HypercallName, args: readonly (bigint | number)[]) => call(name, args).err;

  /** A new object of `type` through partition_create_*; its capid. */
  const create = (type: ObjectType): bigint => {
    const r = call(`partition_create_${type}` as HypercallName, [partition, cspace, 0]);
    if (r.err !== GH_ERROR.OK) throw new Error(`create ${type}: ${r.err}`);
    return r.x[1]!;
  };
  const object = <T extends HypObject>(cap: bigint): T => {
    const found = rm.cspace.lookup<T>(Number(cap & 0xffffffffn), Number(cap >> 32n), null, 0, false);
    if (typeof found === 'number') throw new Error(`lookup: ${found}`);
    return found;
  };

  /** A configured, active extent on physical memory. */
  const extent = (physBase: number, size: number, attrs: number = extentAttrs(PGTABLE_ACCESS.RWX)): bigint => {
    const me = create('memextent');
    const e1 = err('memextent_configure', [me, physBase, size, attrs, 0]);
    if (e1 !== GH_ERROR.OK) throw new Error(`memextent_configure: ${e1}`);
    const e2 = err('object_activate', [me, 0]);
    if (e2 !== GH_ERROR.OK) throw new Error(`object_activate: ${e2}`);
    return me;
  };

  /** A configured, active extent derived from `parent`. */
  const derived = (parent: bigint, offset: number, size: number, attrs: number): bigint => {
    const me = create('memextent');
    const e1 = err('memextent_configure_derive', [me, parent, offset, size, attrs, 0]);
    if (e1 !== GH_ERROR.OK) throw new Error(`memextent_configure_derive: ${e1}`);
    const e2 = err('object_activate', [me, 0]);
    if (e2 !== GH_ERROR.OK) throw new Error(`object_activate: ${e2}`);
    return me;
  };

  const caps = { a: a.managerCaps!.addrspace, b: b.managerCaps!.addrspace };
  return {
    hyp, rm, vcpu, partition, cspace, call, err, create, object, extent, derived, capid,
    vmA: a.vm, vmB: b.vm,
    asA: rm.cspace.capid(caps.a.slot),
    asB: rm.cspace.capid(caps.b.slot),
    extentOf: (cap: bigint) => object<Memextent>(cap),
  };
}
