// An address space: the stage-2 translation of one VM, named by its VMID (spec §7.1). Its GuestMemory holds the
// pages extents and parcels map into it; it also records the VMMIO ranges whose faults go to a VMM, and the
// vCPUs attached to it.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { ADDRSPACE_MAX_VMMIO_RANGES, MAP_ATTRS, PAGE_SIZE } from '../abi/memory.js';
import { HypObject } from '../hyp/object.js';
import type { Vcpu } from '../vm/vcpu.js';
import { GuestMemory } from './guest-memory.js';
import type { ExtentMapping, Memextent } from './memextent.js';
import { endPage, isAligned, isZero, lastPage, U64_PAGES, type PageAddr } from './pages.js';
import { ADDRESS_LIMIT_PAGES, type PhysMemory } from './phys.js';

const VMID_MASK = 0xffff;

/** A VMMIO range, in bytes (spec §7.1: any size and alignment). */
export interface VmmioRange {
  readonly base: number;
  readonly size: number;
}

/**
 * A guest access that faulted inside a VMMIO range: what vcpu_run reports to the VMM as ADDRSPACE_VMMIO_READ (4)
 * or ADDRSPACE_VMMIO_WRITE (5) with data0 = ipa, data1 = size, data2 = value (writes; 0 for reads). A read
 * resumes with resume0 = the value read (spec §6.2).
 */
export interface VmmioAccess {
  readonly ipa: number;
  readonly size: number;
  readonly write: boolean;
  readonly value: bigint;
}

/** addrspace_lookup result: the extent range behind an IPA range and its map_attrs. */
export interface AddrspaceLookup {
  /** Byte offset in the extent. */
  readonly offset: number;
  readonly size: number;
  readonly mapAttrs: number;
}

export class Addrspace extends HypObject {
  readonly type = 'addrspace' as const;
  vmid = -1;
  readonly memory = new GuestMemory();
  /** Extent mappings into this address space (the hypervisor's per-addrspace mapping list). */
  readonly extentMappings = new Set<ExtentMapping>();
  /** addrspace_attach_thread: the vCPUs that run in this address space. */
  readonly threads = new Set<Vcpu>();
  private readonly vmmio: VmmioRange[] = [];

  /** addrspace_configure: a 16-bit VMID other than 0 (VMID 0 is the hypervisor's), only while INIT. */
  configure(vmid: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (!(vmid > 0 && vmid <= VMID_MASK)) return GH_ERROR.ARGUMENT_INVALID;
    this.vmid = vmid;
    return GH_ERROR.OK;
  }

  get vmmioRanges(): readonly VmmioRange[] {
    return this.vmmio;
  }

  /**
   * addrspace_configure_vmmio ADD_RANGE: ARGUMENT_SIZE for an empty range, ADDR_OVERFLOW when it wraps,
   * ADDR_INVALID past the address space, NORESOURCES past 128 ranges, ARGUMENT_INVALID when it overlaps one.
   */
  addVmmioRange(base: PageAddr, size: PageAddr): GhError {
    const range = vmmioRange(base, size);
    if (typeof range === 'number') return range;
    if (this.vmmio.length >= ADDRSPACE_MAX_VMMIO_RANGES) return GH_ERROR.NORESOURCES;
    const end = range.base + range.size;
    if (this.vmmio.some((r) => r.base < end && range.base < r.base + r.size)) return GH_ERROR.ARGUMENT_INVALID;
    this.vmmio.push(range);
    this.vmmio.sort((x, y) => x.base - y.base);
    return GH_ERROR.OK;
  }

  /** addrspace_configure_vmmio REMOVE_RANGE: the range must match an added one exactly (ARGUMENT_INVALID). */
  removeVmmioRange(base: PageAddr, size: PageAddr): GhError {
    const range = vmmioRange(base, size);
    if (typeof range === 'number') return range;
    const i = this.vmmio.findIndex((r) => r.base === range.base && r.size === range.size);
    if (i < 0) return GH_ERROR.ARGUMENT_INVALID;
    this.vmmio.splice(i, 1);
    return GH_ERROR.OK;
  }

  /**
   * The vcpu_run hook for VMMIO: a guest access of `size` bytes at `ipa` that found no mapping is a VMMIO fault
   * when it lies inside one added range (H-MEM vmmio.c); null means an ordinary fault. A mapped page is never a
   * VMMIO fault: only translation faults are forwarded.
   */
  vmmioFault(ipa: number, size: number, write: boolean, value = 0n): VmmioAccess | null {
    if (!(size > 0) || this.memory.isMapped(Math.floor(ipa / PAGE_SIZE))) return null;
    const inside = this.vmmio.some((r) => ipa >= r.base && ipa + size <= r.base + r.size);
    return inside ? { ipa, size, write, value: write ? value : 0n } : null;
  }

  /**
   * addrspace_lookup: the longest run from `vbase` (at most `size` bytes) mapped to physically contiguous pages
   * with one set of attributes, as an offset into `extent`. ARGUMENT_SIZE, ADDR_OVERFLOW, ARGUMENT_ALIGNMENT,
   * ADDR_INVALID when `vbase` is unmapped, MEMDB_NOT_OWNER when `extent` does not own that memory.
   */
  lookup(phys: PhysMemory<Memextent>, extent: Memextent, vbase: PageAddr, size: PageAddr): AddrspaceLookup | GhError {
    if (isZero(size)) return GH_ERROR.ARGUMENT_SIZE;
    if (lastPage(vbase, size) >= U64_PAGES) return GH_ERROR.ADDR_OVERFLOW;
    if (!isAligned(vbase) || !isAligned(size)) return GH_ERROR.ARGUMENT_ALIGNMENT;
    const first = this.memory.peek(vbase.page);
    if (first === undefined) return this.memory.isMapped(vbase.page) ? GH_ERROR.MEMDB_NOT_OWNER : GH_ERROR.ADDR_INVALID;
    const source = first.source as ExtentMapping | null;
    if (first.physPage < 0 || source === null) return GH_ERROR.MEMDB_NOT_OWNER;
    let pages = 1;
    while (pages < size.page) {
      const next = this.memory.peek(vbase.page + pages);
      if (next === undefined || next.physPage !== first.physPage + pages || next.access !== first.access) break;
      const s = next.source as ExtentMapping | null;
      if (s === null || s.attrs.user !== source.attrs.user || s.attrs.memtype !== source.attrs.memtype) break;
      pages++;
    }
    if (!phys.memdb.ownsAll(extent, first.physPage, pages)) return GH_ERROR.MEMDB_NOT_OWNER;
    const mapAttrs = source.attrs.user | (first.access << MAP_ATTRS.KERNEL_ACCESS_SHIFT)
      | (source.attrs.memtype << MAP_ATTRS.MEMTYPE_SHIFT);
    return { offset: (first.physPage - extent.base) * PAGE_SIZE, size: pages * PAGE_SIZE, mapAttrs };
  }

  protected override onActivate(): GhError {
    return this.vmid < 0 ? GH_ERROR.OBJECT_CONFIG : GH_ERROR.OK;
  }

  /** The address space goes: extents forget their mappings into it (memextent_deactivate_addrspace). */
  protected override onDestroy(): void {
    for (const m of [...this.extentMappings]) m.extent.forgetAddrspace(this);
    this.threads.clear();
  }
}

/** A VMMIO range in bytes, or its error: ARGUMENT_SIZE, ADDR_OVERFLOW, ADDR_INVALID. */
function vmmioRange(base: PageAddr, size: PageAddr): VmmioRange | GhError {
  if (isZero(size)) return GH_ERROR.ARGUMENT_SIZE;
  if (endPage(base, size) >= U64_PAGES) return GH_ERROR.ADDR_OVERFLOW; // the end address must fit in 64 bits
  if (lastPage(base, size) >= ADDRESS_LIMIT_PAGES) return GH_ERROR.ADDR_INVALID;
  return { base: base.page * PAGE_SIZE + base.rem, size: size.page * PAGE_SIZE + size.rem };
}
