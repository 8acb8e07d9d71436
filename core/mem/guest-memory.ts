// A VM's stage-2 view (its address space): sparse 4 KiB pages at IPAs. Hypercalls that take a buffer read or
// write through this; an unmapped page, or one whose access forbids the operation, gives ERROR_ADDR_INVALID
// (spec §4.3: an unmapped buffer is ADDR_INVALID). RAM regions are backed lazily, so a 1 GiB VM costs only the
// pages it touches. Pages are Buffers so copies need no views; sharing maps one Buffer into two address spaces.
// Memory extents (spec §7.1) and parcels (spec §7.2) add and remove pages here; each page records its source so
// a removal only takes away what that source put there.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { PAGE_SHIFT, PAGE_SIZE, PGTABLE_ACCESS } from '../abi/memory.js';
import { RangeView } from './copy.js';
import type { PhysMemory } from './phys.js';

/** One mapped page: its contents, the access the VM has, and where it came from. */
export class Mapping {
  private buf: Buffer | null;
  private views: RangeView | null = null;

  /**
   * @param access   PGTABLE_ACCESS bits (R 4, W 2, X 1); NONE keeps the page reserved, e.g. while lent away
   * @param page     the contents, or null to take physical page `physPage` of `phys` on first touch
   * @param source   who mapped it (an extent mapping, a parcel); null for RAM and plain mapPage
   * @param physPage the physical page number behind it, or -1 for anonymous RAM
   */
  constructor(
    public access: number,
    page: Buffer | null,
    readonly source: object | null = null,
    readonly physPage = -1,
    private readonly phys: PhysMemory | null = null,
  ) {
    this.buf = page;
  }

  get page(): Buffer {
    return this.buf ?? (this.buf = this.phys!.page(this.physPage));
  }

  /** Bytes [off, off + len) of the page as a view, the last one reused (core/mem/copy.ts). */
  range(off: number, len: number): Uint8Array {
    return (this.views ??= new RangeView(this.page)).of(off, len);
  }
}

/** A page taken out of a RAM region: stays unmapped instead of growing a fresh RAM page on the next touch. */
const HOLE = new Mapping(PGTABLE_ACCESS.NONE, Buffer.alloc(0));

interface RamRegion {
  readonly firstPage: number;
  readonly endPage: number;
}

const pageOf = (ipa: number): number => Math.floor(ipa / PAGE_SIZE);

export class GuestMemory {
  private readonly pages = new Map<number, Mapping>();
  private readonly ram: RamRegion[] = [];
  /** Pages materialised so far (sysfs and metrics show it). */
  get residentPages(): number {
    return this.pages.size;
  }

  /** Declare lazily backed RAM (read, write, execute) at [base, base + size). */
  addRam(base: number, size: number): void {
    this.ram.push({ firstPage: pageOf(base), endPage: pageOf(base + size - 1) + 1 });
  }

  get ramRegions(): readonly { base: number; size: number }[] {
    return this.ram.map((r) => ({ base: r.firstPage * PAGE_SIZE, size: (r.endPage - r.firstPage) * PAGE_SIZE }));
  }

  /**
   * The last two pages looked up, as a TLB holds them: a message-queue call touches one page of the caller's
   * buffer, and a driver alternates between its send and receive buffers. Every change to `pages` goes through
   * `setPage`/`deletePage`, which flush it.
   */
  private tlbPage0 = -1;
  private tlbMapping0: Mapping | undefined;
  private tlbPage1 = -1;
  private tlbMapping1: Mapping | undefined;

  /** The mapping of a page number, materialising RAM on first touch. */
  mapping(pageNo: number): Mapping | undefined {
    if (pageNo === this.tlbPage0) return this.tlbMapping0;
    if (pageNo === this.tlbPage1) return this.tlbMapping1;
    let m = this.pages.get(pageNo);
    if (m === undefined) {
      if (!this.inRam(pageNo)) return undefined;
      m = new Mapping(PGTABLE_ACCESS.RWX, Buffer.alloc(PAGE_SIZE));
      this.setPage(pageNo, m);
    } else if (m === HOLE) return undefined;
    this.tlbPage1 = this.tlbPage0;
    this.tlbMapping1 = this.tlbMapping0;
    this.tlbPage0 = pageNo;
    this.tlbMapping0 = m;
    return m;
  }

  private setPage(pageNo: number, m: Mapping): void {
    this.pages.set(pageNo, m);
    this.flushTlb();
  }

  private deletePage(pageNo: number): void {
    this.pages.delete(pageNo);
    this.flushTlb();
  }

  private flushTlb(): void {
    this.tlbPage0 = this.tlbPage1 = -1;
    this.tlbMapping0 = this.tlbMapping1 = undefined;
  }

  /** The mapping of a page if one is materialised, without growing RAM. */
  peek(pageNo: number): Mapping | undefined {
    const m = this.pages.get(pageNo);
    return m === HOLE ? undefined : m;
  }

  /** True when something is mapped at the page, or RAM would appear there on first touch. */
  isMapped(pageNo: number): boolean {
    const m = this.pages.get(pageNo);
    return m !== undefined ? m !== HOLE : this.inRam(pageNo);
  }

  /** Put a mapping at a page number, replacing what was there. */
  set(pageNo: number, mapping: Mapping): void {
    this.setPage(pageNo, mapping);
  }

  /**
   * Take the page away if `source` mapped it (any mapping when `source` is undefined); true when removed. Inside
   * a RAM region the page becomes a hole, so the RAM does not grow back.
   */
  remove(pageNo: number, source?: object | null): boolean {
    const m = this.pages.get(pageNo);
    if (m === HOLE) return false;
    if (m === undefined) {
      if (source !== undefined || !this.inRam(pageNo)) return false; // only a plain unmap takes untouched RAM
    } else if (source !== undefined && m.source !== source) return false;
    if (this.inRam(pageNo)) this.setPage(pageNo, HOLE);
    else this.deletePage(pageNo);
    return true;
  }

  /** Map a page (shared Buffer) at a page-aligned IPA. */
  mapPage(ipa: number, page: Buffer, access: number): void {
    this.setPage(pageOf(ipa), new Mapping(access, page));
  }

  unmapPage(ipa: number): void {
    this.remove(pageOf(ipa));
  }

  /** Copy `len` guest bytes at `ipa` into `dst` at `dstOff` (R access needed). */
  read(ipa: number, dst: Uint8Array, dstOff: number, len: number): GhError {
    return this.copy(ipa, dst, dstOff, len, PGTABLE_ACCESS.R, false);
  }

  /**
   * Copy `len` bytes of `src` from `srcOff` to guest memory at `ipa` (W access needed). A `src` that is exactly
   * those bytes (`srcOff` 0, `len` its length) copies with no allocation.
   */
  write(ipa: number, src: Uint8Array, srcOff: number, len: number): GhError {
    return this.copy(ipa, src, srcOff, len, PGTABLE_ACCESS.W, true);
  }

  readBytes(ipa: number, len: number): Uint8Array | GhError {
    const out = new Uint8Array(len);
    const err = this.read(ipa, out, 0, len);
    return err === GH_ERROR.OK ? out : err;
  }

  writeBytes(ipa: number, bytes: Uint8Array): GhError {
    return this.write(ipa, bytes, 0, bytes.length);
  }

  /** True when every page of the range is mapped with the given access. */
  accessible(ipa: number, len: number, access: number): boolean {
    if (!(ipa >= 0 && len >= 0 && Number.isSafeInteger(ipa + len))) return false;
    for (let p = pageOf(ipa), end = pageOf(ipa + Math.max(len, 1) - 1); p <= end; p++) {
      const m = this.mapping(p);
      if (m === undefined || (m.access & access) !== access) return false;
    }
    return true;
  }

  private inRam(pageNo: number): boolean {
    for (const r of this.ram) if (pageNo >= r.firstPage && pageNo < r.endPage) return true;
    return false;
  }

  /** The common case inline (a 32-bit IPA, one page: every aligned message-queue buffer), the rest in copyRange. */
  private copy(ipa: number, buf: Uint8Array, off: number, len: number, access: number, toGuest: boolean): GhError {
    const inPage = ipa & (PAGE_SIZE - 1);
    if (!(ipa >= 0 && ipa < 0x1_0000_0000 && len >= 0 && inPage + len <= PAGE_SIZE)) {
      return this.copyRange(ipa, buf, off, len, access, toGuest);
    }
    const m = this.mapping(ipa >>> PAGE_SHIFT);
    if (m === undefined || (m.access & access) !== access) return GH_ERROR.ADDR_INVALID;
    if (!toGuest) buf.set(m.range(inPage, len), off);
    else m.page.set(off === 0 && len === buf.length ? buf : buf.subarray(off, off + len), inPage);
    return GH_ERROR.OK;
  }

  private copyRange(ipa: number, buf: Uint8Array, off: number, len: number, access: number, toGuest: boolean): GhError {
    if (!Number.isSafeInteger(ipa) || ipa < 0 || !Number.isSafeInteger(ipa + len)) return GH_ERROR.ADDR_INVALID;
    // Check the whole range first: a fault part-way must not leave a half-done copy.
    if (!this.accessible(ipa, len, access)) return GH_ERROR.ADDR_INVALID;
    let done = 0;
    while (done < len) {
      const at = ipa + done;
      const pageOff = at % PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - pageOff);
      const page = this.pages.get((at - pageOff) / PAGE_SIZE)!.page;
      if (toGuest) page.set(buf.subarray(off + done, off + done + n), pageOff);
      else buf.set(page.subarray(pageOff, pageOff + n), off + done);
      done += n;
    }
    return GH_ERROR.OK;
  }
}
