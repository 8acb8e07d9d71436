// Hypercall handlers for address spaces and memory extents (spec §1.3 0x2A-0x32, 0x5A, 0x60, 0x61; §7.1). Thin,
// as everywhere: reserved bits and capabilities first (in the hypervisor's order), then the module.
// addrspace_attach_vdma, addrspace_attach_vdevice and addrspace_configure_info_area are not implemented: no
// emulated object has a DMA port or a memory-mapped register interface, and nothing reads an info area.
import { GH_ERROR } from '../abi/errors.js';
import {
  DONATE_TYPE, MAP_ATTRS, MAP_FLAG, MEMEXTENT_MODIFY_OP, MEMEXTENT_OPTION, VMMIO_OP,
} from '../abi/memory.js';
import { OBJECT_STATE, right, RIGHT_ACTIVATE } from '../abi/objects.js';
import { setResult, type HandlerTable } from '../hyp/handler.js';
import type { HypObject } from '../hyp/object.js';
import type { Partition } from '../hyp/partition.js';
import { argU32, type RegisterFile } from '../hyp/regs.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Addrspace } from './addrspace.js';
import { donateChild, donateSibling, type MapAttrs, type Memextent, type PartialRange } from './memextent.js';
import { pageArg } from './pages.js';

const lookupAddrspace = (vcpu: Vcpu, a: RegisterFile, k: number, rights: number, activeOnly = true) =>
  vcpu.vm!.cspace.lookup<Addrspace>(a[2 * k]!, a[2 * k + 1]!, 'addrspace', rights, activeOnly);
const lookupExtent = (vcpu: Vcpu, a: RegisterFile, k: number, rights: number, activeOnly = true) =>
  vcpu.vm!.cspace.lookup<Memextent>(a[2 * k]!, a[2 * k + 1]!, 'memextent', rights, activeOnly);

const MAP = right('memextent', 'map');
const DONATE = right('memextent', 'donate');

/** map_attrs (or access_attrs, memtype 0) decoded. */
const mapAttrs = (v: number): MapAttrs => ({
  user: v & MAP_ATTRS.USER_ACCESS_MASK,
  kernel: (v >>> MAP_ATTRS.KERNEL_ACCESS_SHIFT) & MAP_ATTRS.USER_ACCESS_MASK,
  memtype: (v >>> MAP_ATTRS.MEMTYPE_SHIFT) & MAP_ATTRS.MEMTYPE_MASK,
});

/** PARTIAL in map_flags: offset and size (arguments k, k+1) name the range; otherwise they are ignored. */
const partialRange = (flags: number, a: RegisterFile, k: number): PartialRange | null =>
  (flags & MAP_FLAG.PARTIAL) !== 0 ? { offset: pageArg(a, k), size: pageArg(a, k + 1) } : null;

/** memextent_donate TO_CHILD / TO_PARENT: the parent is an extent, or for a root extent the partition. */
function donateToChild(vcpu: Vcpu, a: RegisterFile, parentArg: number, childArg: number, reverse: boolean): number {
  const child = lookupExtent(vcpu, a, childArg, DONATE);
  if (typeof child === 'number') return child;
  if (child.parent !== null) {
    const parent = lookupExtent(vcpu, a, parentArg, DONATE);
    if (typeof parent === 'number') return parent;
    if (parent !== child.parent) return GH_ERROR.ARGUMENT_INVALID;
  } else {
    const cspace = vcpu.vm!.cspace;
    const partition = cspace.lookup<Partition>(a[2 * parentArg]!, a[2 * parentArg + 1]!, 'partition', right('partition', 'donate'));
    if (typeof partition === 'number') return partition;
  }
  return donateChild(vcpu.vm!.hyp.phys, child, pageArg(a, 3), pageArg(a, 4), reverse);
}

export const memCalls: HandlerTable = {
  addrspace_attach_thread(vcpu, a) {
    const thread = vcpu.vm!.cspace.lookup<HypObject>(a[2]!, a[3]!, null, RIGHT_ACTIVATE, false);
    if (typeof thread === 'number') return thread;
    if (thread.type !== 'thread') return GH_ERROR.CSPACE_WRONG_OBJECT_TYPE;
    const addrspace = lookupAddrspace(vcpu, a, 0, right('addrspace', 'attach'));
    if (typeof addrspace === 'number') return addrspace;
    if (thread.state !== OBJECT_STATE.INIT) return GH_ERROR.OBJECT_STATE;
    const attached = thread as Vcpu;
    attached.vm?.addrspace.threads.delete(attached);
    addrspace.threads.add(attached);
    // The VM record is keyed by the address space's VMID; a thread of an address space no VM owns has no VM yet.
    const vm = vcpu.vm!.hyp.vms.get(addrspace.vmid);
    attached.vm = vm?.addrspace === addrspace ? vm : null;
    return GH_ERROR.OK;
  },

  addrspace_map(vcpu, a) {
    const attrs = argU32(a, 3);
    const flags = argU32(a, 4);
    if ((attrs & MAP_ATTRS.RES0_MASK) !== 0 || (flags & MAP_FLAG.RES0_MASK) !== 0) return GH_ERROR.ARGUMENT_INVALID;
    const addrspace = lookupAddrspace(vcpu, a, 0, right('addrspace', 'map'));
    if (typeof addrspace === 'number') return addrspace;
    const extent = lookupExtent(vcpu, a, 1, MAP);
    if (typeof extent === 'number') return extent;
    return extent.map(addrspace, pageArg(a, 2), mapAttrs(attrs), partialRange(flags, a, 5));
  },

  addrspace_unmap(vcpu, a) {
    const flags = argU32(a, 3);
    if ((flags & MAP_FLAG.RES0_MASK) !== 0) return GH_ERROR.ARGUMENT_INVALID;
    const addrspace = lookupAddrspace(vcpu, a, 0, right('addrspace', 'map'));
    if (typeof addrspace === 'number') return addrspace;
    const extent = lookupExtent(vcpu, a, 1, MAP);
    if (typeof extent === 'number') return extent;
    return extent.unmap(addrspace, pageArg(a, 2), partialRange(flags, a, 4));
  },

  addrspace_update_access(vcpu, a) {
    const attrs = argU32(a, 3);
    const flags = argU32(a, 4);
    if ((attrs & MAP_ATTRS.ACCESS_ATTRS_RES0_MASK) !== 0 || (flags & MAP_FLAG.RES0_MASK) !== 0) {
      return GH_ERROR.ARGUMENT_INVALID;
    }
    const addrspace = lookupAddrspace(vcpu, a, 0, right('addrspace', 'map'));
    if (typeof addrspace === 'number') return addrspace;
    const extent = lookupExtent(vcpu, a, 1, MAP);
    if (typeof extent === 'number') return extent;
    const { user, kernel } = mapAttrs(attrs);
    return extent.updateAccess(addrspace, pageArg(a, 2), user, kernel, partialRange(flags, a, 5));
  },

  addrspace_configure(vcpu, a) {
    const addrspace = lookupAddrspace(vcpu, a, 0, RIGHT_ACTIVATE, false);
    if (typeof addrspace === 'number') return addrspace;
    return addrspace.configure(argU32(a, 1));
  },

  addrspace_lookup(vcpu, a, out) {
    const addrspace = lookupAddrspace(vcpu, a, 0, right('addrspace', 'lookup'));
    if (typeof addrspace === 'number') return addrspace;
    const extent = lookupExtent(vcpu, a, 1, right('memextent', 'lookup'));
    if (typeof extent === 'number') return extent;
    const found = addrspace.lookup(vcpu.vm!.hyp.phys, extent, pageArg(a, 2), pageArg(a, 3));
    if (typeof found === 'number') return found;
    setResult(out, 1, BigInt(found.offset));
    setResult(out, 2, BigInt(found.size));
    setResult(out, 3, BigInt(found.mapAttrs));
    return GH_ERROR.OK;
  },

  addrspace_configure_vmmio(vcpu, a) {
    const addrspace = lookupAddrspace(vcpu, a, 0, right('addrspace', 'add_vmmio_range'), false);
    if (typeof addrspace === 'number') return addrspace;
    if (addrspace.state !== OBJECT_STATE.INIT && addrspace.state !== OBJECT_STATE.ACTIVE) return GH_ERROR.OBJECT_STATE;
    switch (argU32(a, 3)) {
      case VMMIO_OP.ADD_RANGE: return addrspace.addVmmioRange(pageArg(a, 1), pageArg(a, 2));
      case VMMIO_OP.REMOVE_RANGE: return addrspace.removeVmmioRange(pageArg(a, 1), pageArg(a, 2));
      default: return GH_ERROR.UNIMPLEMENTED;
    }
  },

  memextent_modify(vcpu, a) {
    const flags = argU32(a, 1);
    if ((flags & MEMEXTENT_OPTION.RES0_MASK) !== 0) return GH_ERROR.ARGUMENT_INVALID;
    const extent = lookupExtent(vcpu, a, 0, MAP);
    if (typeof extent === 'number') return extent;
    const nosync = (flags & MEMEXTENT_OPTION.NOSYNC) !== 0;
    const op = flags & MEMEXTENT_OPTION.TYPE_MASK;
    switch (op) {
      case MEMEXTENT_MODIFY_OP.UNMAP_ALL:
        extent.unmapAll();
        return GH_ERROR.OK;
      // spec §7.1: the range operations need NOSYNC, SYNC_ALL must not have it.
      case MEMEXTENT_MODIFY_OP.ZERO_RANGE:
      case MEMEXTENT_MODIFY_OP.CACHE_CLEAN_RANGE:
      case MEMEXTENT_MODIFY_OP.CACHE_FLUSH_RANGE:
        if (!nosync) return GH_ERROR.ARGUMENT_INVALID;
        return extent.cleanRange(pageArg(a, 2), pageArg(a, 3), op === MEMEXTENT_MODIFY_OP.ZERO_RANGE);
      case MEMEXTENT_MODIFY_OP.SYNC_ALL:
        return nosync ? GH_ERROR.ARGUMENT_INVALID : GH_ERROR.OK;
      default:
        return GH_ERROR.ARGUMENT_INVALID;
    }
  },

  memextent_configure(vcpu, a) {
    const extent = lookupExtent(vcpu, a, 0, RIGHT_ACTIVATE, false);
    if (typeof extent === 'number') return extent;
    return extent.configure(pageArg(a, 1), pageArg(a, 2), argU32(a, 3));
  },

  memextent_configure_derive(vcpu, a) {
    const parent = lookupExtent(vcpu, a, 1, right('memextent', 'derive'));
    if (typeof parent === 'number') return parent;
    const extent = lookupExtent(vcpu, a, 0, RIGHT_ACTIVATE, false);
    if (typeof extent === 'number') return extent;
    return extent.configureDerive(parent, pageArg(a, 2), pageArg(a, 3), argU32(a, 4));
  },

  memextent_donate(vcpu, a) {
    const options = argU32(a, 0);
    if ((options & MEMEXTENT_OPTION.RES0_MASK) !== 0) return GH_ERROR.ARGUMENT_INVALID;
    switch (options & MEMEXTENT_OPTION.TYPE_MASK) {
      case DONATE_TYPE.TO_CHILD: return donateToChild(vcpu, a, 1, 2, false);
      case DONATE_TYPE.TO_PARENT: return donateToChild(vcpu, a, 2, 1, true);
      // Linux v15+ lends with TO_PROTECTED and takes back with FROM_PROTECTED between sibling extents (spec §7.1);
      // ownership is exclusive here already, so they are sibling donations.
      case DONATE_TYPE.TO_SIBLING:
      case DONATE_TYPE.TO_PROTECTED:
      case DONATE_TYPE.FROM_PROTECTED: {
        const from = lookupExtent(vcpu, a, 1, DONATE);
        if (typeof from === 'number') return from;
        const to = lookupExtent(vcpu, a, 2, DONATE);
        if (typeof to === 'number') return to;
        return donateSibling(vcpu.vm!.hyp.phys, from, to, pageArg(a, 3), pageArg(a, 4));
      }
      default:
        return GH_ERROR.ARGUMENT_INVALID;
    }
  },
};
