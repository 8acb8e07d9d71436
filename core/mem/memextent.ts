// spec §7.1 (H-MEM memextent.c, memextent_basic.c, memextent_sparse.c): a memory extent names a physical range
// with a maximum access and a memory type. A BASIC extent owns its whole range from activation; a SPARSE extent
// owns what is donated to it (memextent_donate) and may be mapped in parts. Mapping records say where ranges of
// the extent appear in which address spaces; only pages the extent owns in the memdb are visible there, so a
// donation moves pages from the giver's mappings to the receiver's.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import {
  MEMEXTENT_ATTRS, MEMEXTENT_MAX_MAPPINGS, MEMEXTENT_MEMTYPE, MEMEXTENT_TYPE, PGTABLE_ACCESS, PGTABLE_VM_MEMTYPE,
} from '../abi/memory.js';
import { OBJECT_STATE } from '../abi/objects.js';
import { HypObject } from '../hyp/object.js';
import type { Addrspace } from './addrspace.js';
import { Mapping } from './guest-memory.js';
import { isAligned, isZero, lastPage, U64_PAGES, type PageAddr } from './pages.js';
import { ADDRESS_LIMIT_PAGES, type PhysMemory } from './phys.js';

/** The access and memory type of a mapping (map_attrs decoded). */
export interface MapAttrs {
  readonly user: number;
  readonly kernel: number;
  readonly memtype: number;
}

/** One range of an extent mapped into one address space: an entry of the hypervisor's per-slot mapping table. */
export interface ExtentMapping {
  readonly extent: Memextent;
  readonly addrspace: Addrspace;
  /** Mapping slot 0-3; a slot serves one address space (spec §7.1: at most 4 mappings per extent). */
  readonly slot: number;
  /** First page of the range, counted from the extent's base. */
  first: number;
  pages: number;
  /** IPA page where page `first` of the extent appears. */
  vbase: number;
  attrs: MapAttrs;
}

/** An optional sub-range (map_flags PARTIAL): byte offset and size within the extent. */
export interface PartialRange {
  readonly offset: PageAddr;
  readonly size: PageAddr;
}

/** memextent_check_memtype (H-MEM): which mapping memtypes each extent memtype allows. */
function memtypeAllowed(extent: number, map: number): boolean {
  switch (map) {
    case PGTABLE_VM_MEMTYPE.DEVICE_NGNRNE:
    case PGTABLE_VM_MEMTYPE.DEVICE_NGNRE:
    case PGTABLE_VM_MEMTYPE.DEVICE_NGRE:
    case PGTABLE_VM_MEMTYPE.DEVICE_GRE:
      return extent !== MEMEXTENT_MEMTYPE.CACHED;
    case PGTABLE_VM_MEMTYPE.NORMAL_NC:
      return extent === MEMEXTENT_MEMTYPE.ANY || extent === MEMEXTENT_MEMTYPE.UNCACHED;
    default:
      return extent === MEMEXTENT_MEMTYPE.ANY && (Object.values(PGTABLE_VM_MEMTYPE) as number[]).includes(map);
  }
}

/** `inner` grants nothing `outer` does not (pgtable_access_check). */
const accessWithin = (outer: number, inner: number): boolean => (inner & ~outer) === 0;

export class Memextent extends HypObject {
  readonly type = 'memextent' as const;
  extentType: number = MEMEXTENT_TYPE.BASIC;
  memtype: number = MEMEXTENT_MEMTYPE.ANY;
  access: number = PGTABLE_ACCESS.NONE;
  /** First physical page and length in pages; 0 pages until configured. */
  base = 0;
  pages = 0;
  /** The extent this one was derived from; null for one configured on physical memory. */
  parent: Memextent | null = null;
  readonly children = new Set<Memextent>();
  readonly mappings: ExtentMapping[] = [];

  constructor(id: number, private readonly phys: PhysMemory<Memextent>) {
    super(id);
  }

  get sparse(): boolean {
    return this.extentType === MEMEXTENT_TYPE.SPARSE;
  }

  /** Pages of this extent the memdb says it owns. */
  get ownedPages(): number {
    return this.phys.memdb.countOwned(this, this.base, this.base + this.pages);
  }

  /** memextent_configure (INIT only): physical base, size and attributes; drops any earlier derivation. */
  configure(physBase: PageAddr, size: PageAddr, attrs: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (isZero(size) || lastPage(physBase, size) >= U64_PAGES) return GH_ERROR.ARGUMENT_INVALID;
    if (!isAligned(physBase) || !isAligned(size)) return GH_ERROR.ARGUMENT_ALIGNMENT;
    const decoded = decodeAttrs(attrs);
    if (decoded === null || physBase.page + size.page > ADDRESS_LIMIT_PAGES) return GH_ERROR.ARGUMENT_INVALID;
    this.setParent(null);
    this.set(physBase.page, size.page, decoded);
    return GH_ERROR.OK;
  }

  /** memextent_configure_derive (INIT only): a range of an active parent, with no more access than it has. */
  configureDerive(parent: Memextent, offset: PageAddr, size: PageAddr, attrs: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (isZero(size) || lastPage(offset, size) >= U64_PAGES) return GH_ERROR.ARGUMENT_INVALID;
    if (offset.page >= parent.pages || lastPage(offset, size) >= parent.pages) return GH_ERROR.ADDR_INVALID;
    if (!isAligned(offset) || !isAligned(size)) return GH_ERROR.ARGUMENT_ALIGNMENT;
    const decoded = decodeAttrs(attrs);
    if (decoded === null || !accessWithin(parent.access, decoded.access)) return GH_ERROR.ARGUMENT_INVALID;
    if (parent.memtype !== MEMEXTENT_MEMTYPE.ANY && parent.memtype !== decoded.memtype) return GH_ERROR.ARGUMENT_INVALID;
    if (parent === this) return GH_ERROR.ARGUMENT_INVALID;
    this.setParent(parent);
    this.set(parent.base + offset.page, size.page, decoded);
    return GH_ERROR.OK;
  }

  /**
   * object_activate: a BASIC extent claims its range (from the partition, or from its parent); a derived extent
   * inherits the parent's mappings over its range, with access reduced to its own.
   */
  protected override onActivate(): GhError {
    if (this.pages === 0) return GH_ERROR.OBJECT_CONFIG;
    const memdb = this.phys.memdb;
    const parent = this.parent;
    if (parent === null) return this.sparse ? GH_ERROR.OK : memdb.update(this.base, this.pages, this, null);
    if (parent.state !== OBJECT_STATE.ACTIVE) return GH_ERROR.OBJECT_STATE;
    // A BASIC child, or any child of an extent that cannot donate, takes its whole range now.
    const transfer = !this.sparse || !parent.sparse;
    if (transfer && !memdb.ownsAll(parent, this.base, this.pages)) return GH_ERROR.MEMDB_NOT_OWNER;
    const inherited = this.inherit(parent);
    if (inherited === null) return GH_ERROR.DENIED;
    if (transfer) parent.unapply(this.base, this.base + this.pages);
    for (const m of inherited) this.addRecord(m);
    if (transfer) {
      memdb.update(this.base, this.pages, this, parent);
      this.apply(this.base, this.base + this.pages);
    }
    parent.children.add(this);
    return GH_ERROR.OK;
  }

  protected override onReset(): void {
    this.release();
  }

  protected override onDestroy(): void {
    this.release();
    this.setParent(null);
  }

  /** addrspace_map: the whole extent, or with PARTIAL a range of a SPARSE one. */
  map(addrspace: Addrspace, vbase: PageAddr, attrs: MapAttrs, partial: PartialRange | null): GhError {
    const range = this.rangeOf(vbase, partial);
    if (typeof range === 'number') return range;
    if (!this.attrsAllowed(attrs)) return GH_ERROR.ARGUMENT_INVALID;
    if (!this.sparse) {
      if (partial !== null) return GH_ERROR.ARGUMENT_INVALID;
      if (vbase.page + this.pages > U64_PAGES) return GH_ERROR.ADDR_OVERFLOW;
    }
    if (vbase.page + range.pages > ADDRESS_LIMIT_PAGES) return GH_ERROR.ADDR_INVALID;
    const slot = this.freeSlot(addrspace, range.first, range.pages);
    if (slot < 0) return GH_ERROR.MEMEXTENT_MAPPINGS_FULL;
    const m: ExtentMapping = { extent: this, addrspace, slot, ...range, vbase: vbase.page, attrs };
    if (this.collides(m)) return GH_ERROR.EXISTING_MAPPING;
    this.addRecord(m);
    this.applyRecord(m, this.base, this.base + this.pages);
    return GH_ERROR.OK;
  }

  /** addrspace_unmap: ADDR_INVALID when that mapping does not exist. */
  unmap(addrspace: Addrspace, vbase: PageAddr, partial: PartialRange | null): GhError {
    const found = this.findMapped(addrspace, vbase, partial);
    if (typeof found === 'number') return found;
    this.cut(found.slot, found.first, found.pages, null);
    return GH_ERROR.OK;
  }

  /** addrspace_update_access: new user and kernel access on an existing mapping. */
  updateAccess(addrspace: Addrspace, vbase: PageAddr, user: number, kernel: number, partial: PartialRange | null): GhError {
    if (!accessWithin(this.access, user) || !accessWithin(this.access, kernel)) return GH_ERROR.ARGUMENT_INVALID;
    const found = this.findMapped(addrspace, vbase, partial);
    if (typeof found === 'number') return found;
    this.cut(found.slot, found.first, found.pages, (attrs) => ({ ...attrs, user, kernel }));
    return GH_ERROR.OK;
  }

  /** memextent_modify UNMAP_ALL. */
  unmapAll(): void {
    for (const m of [...this.mappings]) this.removeRecord(m);
  }

  /**
   * memextent_modify ZERO_RANGE / CACHE_*_RANGE on the owned pages of [offset, offset + size). Caches are not
   * emulated, so clean and flush only validate.
   */
  cleanRange(offset: PageAddr, size: PageAddr, zero: boolean): GhError {
    if (this.memtype === MEMEXTENT_MEMTYPE.DEVICE || (this.access & PGTABLE_ACCESS.W) === 0) return GH_ERROR.DENIED;
    const range = this.physRange(offset, size);
    if (typeof range === 'number') return range;
    if (zero) for (const [s, e] of this.phys.memdb.owned(this, range.first, range.first + range.pages)) this.phys.zero(s, e);
    return GH_ERROR.OK;
  }

  /**
   * Check a donation range (memextent_donate_child/sibling): page aligned, non-empty, inside this extent.
   * Returns absolute physical pages.
   */
  physRange(offset: PageAddr, size: PageAddr): { first: number; pages: number } | GhError {
    if (!isAligned(offset) || !isAligned(size)) return GH_ERROR.ARGUMENT_ALIGNMENT;
    const first = this.base + offset.page;
    if (first >= U64_PAGES) return GH_ERROR.ARGUMENT_INVALID;
    if (isZero(size) || first + size.page > U64_PAGES) return GH_ERROR.ARGUMENT_SIZE;
    if (!this.contains(first, size.page)) return GH_ERROR.ARGUMENT_INVALID;
    return { first, pages: size.page };
  }

  contains(first: number, pages: number): boolean {
    return first >= this.base && first + pages <= this.base + this.pages;
  }

  /** An address space is going away: forget the mappings into it (its pages go with it). */
  forgetAddrspace(addrspace: Addrspace): void {
    for (const m of [...this.mappings]) if (m.addrspace === addrspace) this.removeRecord(m);
  }

  /** Show the pages this extent owns in [first, end) through every mapping that covers them. */
  apply(first: number, end: number): void {
    for (const m of this.mappings) this.applyRecord(m, first, end);
  }

  /** Hide the pages this extent owns in [first, end) from every mapping (before they change owner). */
  unapply(first: number, end: number): void {
    for (const m of this.mappings) this.unapplyRecord(m, first, end);
  }

  private set(base: number, pages: number, attrs: { access: number; memtype: number; type: number }): void {
    this.base = base;
    this.pages = pages;
    this.access = attrs.access;
    this.memtype = attrs.memtype;
    this.extentType = attrs.type;
  }

  /** A derived extent holds a reference to its parent, as the hypervisor's object_get does. */
  private setParent(parent: Memextent | null): void {
    const old = this.parent;
    if (old === parent) return;
    if (parent !== null) parent.refs++;
    this.parent = parent;
    if (old !== null) {
      old.children.delete(this);
      if (--old.refs === 0) old.destroy();
    }
  }

  /** Give every owned page back (to the parent, or the partition) and drop every mapping. */
  private release(): void {
    const to = this.parent;
    const memdb = this.phys.memdb;
    for (const [s, e] of [...memdb.owned(this, this.base, this.base + this.pages)]) {
      this.unapply(s, e);
      memdb.update(s, e - s, to, this);
      to?.apply(s, e);
    }
    this.unmapAll();
    to?.children.delete(this);
  }

  /** The parent's mappings over this extent's range, access-masked; null when a BASIC child is partly mapped. */
  private inherit(parent: Memextent): ExtentMapping[] | null {
    const first = this.base - parent.base;
    const end = first + this.pages;
    const out: ExtentMapping[] = [];
    for (const m of parent.mappings) {
      const s = Math.max(m.first, first);
      const e = Math.min(m.first + m.pages, end);
      if (s >= e) continue;
      if (!this.sparse && (s !== first || e !== end)) return null;
      const mask = (a: number) => a & this.access;
      out.push({
        extent: this, addrspace: m.addrspace, slot: this.sparse ? m.slot : out.length, first: s - first, pages: e - s,
        vbase: m.vbase + (s - m.first), attrs: { ...m.attrs, user: mask(m.attrs.user), kernel: mask(m.attrs.kernel) },
      });
    }
    return out;
  }

  /** The extent-relative pages a map call covers, or its alignment / size error (memextent_map_partial). */
  private rangeOf(vbase: PageAddr, partial: PartialRange | null): { first: number; pages: number } | GhError {
    if (!isAligned(vbase)) return GH_ERROR.ARGUMENT_ALIGNMENT;
    if (partial === null) return { first: 0, pages: this.pages };
    const { offset, size } = partial;
    if (!isAligned(offset) || !isAligned(size)) return GH_ERROR.ARGUMENT_ALIGNMENT;
    if (isZero(size) || offset.page + size.page > U64_PAGES || vbase.page + size.page > U64_PAGES) {
      return GH_ERROR.ARGUMENT_SIZE;
    }
    if (offset.page + size.page > this.pages) return GH_ERROR.ARGUMENT_SIZE;
    return { first: offset.page, pages: size.page };
  }

  /** The slot and extent range of an existing mapping at `vbase` (unmap, update_access), or ADDR_INVALID. */
  private findMapped(addrspace: Addrspace, vbase: PageAddr, partial: PartialRange | null): ExtentMapping | GhError {
    const range = this.rangeOf(vbase, partial);
    if (typeof range === 'number') return range;
    if (!this.sparse) {
      if (partial !== null) return GH_ERROR.ARGUMENT_INVALID;
      const m = this.mappings.find((x) => x.addrspace === addrspace && x.vbase === vbase.page);
      return m ?? GH_ERROR.ADDR_INVALID;
    }
    if (vbase.page + range.pages > ADDRESS_LIMIT_PAGES) return GH_ERROR.ADDR_INVALID;
    // Sparse: one slot must map the whole range with this translation (the GPT entries of one mapping).
    const shift = vbase.page - range.first;
    for (let slot = 0; slot < MEMEXTENT_MAX_MAPPINGS; slot++) {
      const inSlot = this.mappings
        .filter((m) => m.slot === slot && m.addrspace === addrspace && m.vbase - m.first === shift)
        .sort((x, y) => x.first - y.first);
      let at = range.first;
      for (const m of inSlot) if (m.first <= at && m.first + m.pages > at) at = m.first + m.pages;
      if (at >= range.first + range.pages) return { ...inSlot[0]!, slot, ...range, vbase: vbase.page };
    }
    return GH_ERROR.ADDR_INVALID;
  }

  /**
   * Take extent pages [first, first + pages) out of the mappings of one slot: removed, or with `change` put back
   * with changed attributes. Records are split at the range's edges.
   */
  private cut(slot: number, first: number, pages: number, change: ((a: MapAttrs) => MapAttrs) | null): void {
    const end = first + pages;
    for (const m of this.mappings.filter((x) => x.slot === slot)) {
      const mEnd = m.first + m.pages;
      if (mEnd <= first || m.first >= end) continue;
      this.removeRecord(m);
      const piece = (s: number, e: number, attrs: MapAttrs) => {
        if (s >= e) return;
        const part: ExtentMapping = { ...m, first: s, pages: e - s, vbase: m.vbase + (s - m.first), attrs };
        this.addRecord(part);
        this.applyRecord(part, this.base, this.base + this.pages);
      };
      piece(m.first, Math.min(first, mEnd), m.attrs);
      if (change !== null) piece(Math.max(m.first, first), Math.min(mEnd, end), change(m.attrs));
      piece(Math.max(end, m.first), mEnd, m.attrs);
    }
  }

  private attrsAllowed(attrs: MapAttrs): boolean {
    return accessWithin(this.access, attrs.user) && accessWithin(this.access, attrs.kernel)
      && memtypeAllowed(this.memtype, attrs.memtype);
  }

  /**
   * A slot for a new mapping: BASIC extents use one slot per mapping; a SPARSE slot serves one address space and
   * holds ranges that do not overlap in the extent. -1 when all four are taken.
   */
  private freeSlot(addrspace: Addrspace, first: number, pages: number): number {
    const used = new Map<number, Addrspace>();
    for (const m of this.mappings) used.set(m.slot, m.addrspace);
    if (this.sparse) {
      for (const [slot, as] of used) {
        const overlaps = this.mappings.some((m) => m.slot === slot && m.first < first + pages && first < m.first + m.pages);
        if (as === addrspace && !overlaps) return slot;
      }
    }
    for (let slot = 0; slot < MEMEXTENT_MAX_MAPPINGS; slot++) if (!used.has(slot)) return slot;
    return -1;
  }

  /** True when a page this mapping would show is already mapped in its address space (EXISTING_MAPPING). */
  private collides(m: ExtentMapping): boolean {
    const memory = m.addrspace.memory;
    const start = this.base + m.first;
    for (const [s, e] of this.phys.memdb.owned(this, start, start + m.pages)) {
      for (let p = s; p < e; p++) if (memory.isMapped(m.vbase + (p - start))) return true;
    }
    return false;
  }

  private addRecord(m: ExtentMapping): void {
    this.mappings.push(m);
    m.addrspace.extentMappings.add(m);
  }

  private removeRecord(m: ExtentMapping): void {
    this.unapplyRecord(m, this.base, this.base + this.pages);
    this.mappings.splice(this.mappings.indexOf(m), 1);
    m.addrspace.extentMappings.delete(m);
  }

  /** Map the owned pages of [first, end) that `m` covers. The emulated vCPUs run at EL1: kernel access applies. */
  private applyRecord(m: ExtentMapping, first: number, end: number): void {
    const memory = m.addrspace.memory;
    this.forOwnedPages(m, first, end, (p, ipaPage) => memory.set(ipaPage, new Mapping(m.attrs.kernel, null, m, p, this.phys)));
  }

  private unapplyRecord(m: ExtentMapping, first: number, end: number): void {
    const memory = m.addrspace.memory;
    this.forOwnedPages(m, first, end, (_p, ipaPage) => memory.remove(ipaPage, m));
  }

  /** Each physical page of [first, end) that this extent owns and `m` covers, with the IPA page `m` puts it at. */
  private forOwnedPages(m: ExtentMapping, first: number, end: number, fn: (page: number, ipaPage: number) => void): void {
    const start = this.base + m.first;
    const lo = Math.max(first, start);
    const hi = Math.min(end, start + m.pages);
    if (lo >= hi) return;
    for (const [s, e] of this.phys.memdb.owned(this, lo, hi)) {
      for (let p = s; p < e; p++) fn(p, m.vbase + (p - start));
    }
  }
}

/** Decode memextent_attrs: null for reserved bits, the list-append bit, or an invalid access, memtype or type. */
function decodeAttrs(attrs: number): { access: number; memtype: number; type: number } | null {
  if ((attrs & MEMEXTENT_ATTRS.RES0_MASK) !== 0 || (attrs >>> MEMEXTENT_ATTRS.APPEND_BIT) !== 0) return null;
  const access = attrs & MEMEXTENT_ATTRS.ACCESS_MASK;
  const memtype = (attrs >>> MEMEXTENT_ATTRS.MEMTYPE_SHIFT) & MEMEXTENT_ATTRS.MEMTYPE_MASK;
  const type = (attrs >>> MEMEXTENT_ATTRS.TYPE_SHIFT) & MEMEXTENT_ATTRS.TYPE_MASK;
  if (type !== MEMEXTENT_TYPE.BASIC && type !== MEMEXTENT_TYPE.SPARSE) return null;
  // H-MEM memextent_validate_attrs: CACHED needs stage-2 forced write-back, which the public build lacks.
  if (memtype === MEMEXTENT_MEMTYPE.CACHED || access === PGTABLE_ACCESS.NONE) return null;
  return { access, memtype, type };
}

/**
 * Move [first, first + pages) between owners (null = the partition) and carry the mappings along: the giver's
 * mappings lose the pages, the receiver's show them (memextent_sparse do_mapping_transfer).
 */
export function transferPages(phys: PhysMemory<Memextent>, from: Memextent | null, to: Memextent | null, first: number, pages: number): GhError {
  if (!phys.memdb.ownsAll(from, first, pages)) return GH_ERROR.MEMDB_NOT_OWNER;
  from?.unapply(first, first + pages);
  phys.memdb.update(first, pages, to, from);
  to?.apply(first, first + pages);
  return GH_ERROR.OK;
}

/**
 * memextent_donate TO_CHILD / TO_PARENT (`reverse`): between a SPARSE extent and its parent extent, or for an
 * extent configured on physical memory, the partition. `offset` counts from the child's base.
 */
export function donateChild(phys: PhysMemory<Memextent>, child: Memextent, offset: PageAddr, size: PageAddr, reverse: boolean): GhError {
  const range = child.physRange(offset, size);
  if (typeof range === 'number') return range;
  if (!child.sparse || (child.parent !== null && !child.parent.sparse)) return GH_ERROR.ARGUMENT_INVALID;
  const from = reverse ? child : child.parent;
  const to = reverse ? child.parent : child;
  return transferPages(phys, from, to, range.first, range.pages);
}

/** memextent_donate TO_SIBLING: between two SPARSE extents derived from the same parent; offset from `from`'s base. */
export function donateSibling(phys: PhysMemory<Memextent>, from: Memextent, to: Memextent, offset: PageAddr, size: PageAddr): GhError {
  const range = from.physRange(offset, size);
  if (typeof range === 'number') return range;
  if (!to.contains(range.first, range.pages)) return GH_ERROR.ARGUMENT_INVALID;
  if (from === to || from.parent === null || from.parent !== to.parent) return GH_ERROR.ARGUMENT_INVALID;
  if (!from.sparse || !to.sparse) return GH_ERROR.ARGUMENT_INVALID;
  return transferPages(phys, from, to, range.first, range.pages);
}
