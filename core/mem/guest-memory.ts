// A VM's stage-2 view (its address space): sparse 4 KiB pages at IPAs. Hypercalls that take a buffer read or
// write through this; an unmapped page, or one whose access forbids the operation, gives ERROR_ADDR_INVALID
// (spec §4.3: an unmapped buffer is ADDR_INVALID). RAM regions are backed lazily, so a 1 GiB VM costs only the
// pages it touches. Pages are Buffers so copies need no views; sharing maps one Buffer into two address spaces.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { PAGE_SHIFT, PAGE_SIZE, PGTABLE_ACCESS } from '../abi/memory.js';

export interface Mapping {
  readonly page: Buffer;
  /** PGTABLE_ACCESS bits (R 4, W 2, X 1); NONE keeps the page reserved, e.g. while lent away. */
  access: number;
}

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

  /** The mapping of a page number, materialising RAM on first touch. */
  mapping(pageNo: number): Mapping | undefined {
    const m = this.pages.get(pageNo);
    if (m !== undefined) return m;
    for (const r of this.ram) {
      if (pageNo >= r.firstPage && pageNo < r.endPage) {
        const fresh: Mapping = { page: Buffer.alloc(PAGE_SIZE), access: PGTABLE_ACCESS.RWX };
        this.pages.set(pageNo, fresh);
        return fresh;
      }
    }
    return undefined;
  }

  /** Map a page (shared Buffer) at a page-aligned IPA. */
  mapPage(ipa: number, page: Buffer, access: number): void {
    this.pages.set(pageOf(ipa), { page, access });
  }

  unmapPage(ipa: number): void {
    this.pages.delete(pageOf(ipa));
  }

  /** Copy guest bytes at `ipa` into `dst` (R access needed). */
  read(ipa: number, dst: Uint8Array, dstOff: number, len: number): GhError {
    return this.copy(ipa, dst, dstOff, len, PGTABLE_ACCESS.R, false);
  }

  /** Copy `len` bytes of `src` to guest memory at `ipa` (W access needed). */
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

  private copy(ipa: number, buf: Uint8Array, off: number, len: number, access: number, toGuest: boolean): GhError {
    if (!Number.isSafeInteger(ipa) || ipa < 0 || !Number.isSafeInteger(ipa + len)) return GH_ERROR.ADDR_INVALID;
    const inPage = ipa % PAGE_SIZE;
    if (inPage + len <= PAGE_SIZE) {
      // Fast path: the whole range lies in one page (every message-queue copy of an aligned buffer).
      const m = this.mapping(ipa < 0x1_0000_0000 ? ipa >>> PAGE_SHIFT : (ipa - inPage) / PAGE_SIZE);
      if (m === undefined || (m.access & access) !== access) return GH_ERROR.ADDR_INVALID;
      copyPage(m.page, inPage, buf, off, len, toGuest);
      return GH_ERROR.OK;
    }
    // Check the whole range first: a fault part-way must not leave a half-done copy.
    if (!this.accessible(ipa, len, access)) return GH_ERROR.ADDR_INVALID;
    let done = 0;
    while (done < len) {
      const at = ipa + done;
      const pageOff = at % PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - pageOff);
      copyPage(this.pages.get((at - pageOff) / PAGE_SIZE)!.page, pageOff, buf, off + done, n, toGuest);
      done += n;
    }
    return GH_ERROR.OK;
  }
}

function copyPage(page: Buffer, pageOff: number, buf: Uint8Array, off: number, n: number, toGuest: boolean): void {
  if (buf instanceof Buffer) {
    if (toGuest) buf.copy(page, pageOff, off, off + n);
    else page.copy(buf, off, pageOff, pageOff + n);
  } else if (toGuest) page.set(buf.subarray(off, off + n), pageOff);
  else buf.set(page.subarray(pageOff, pageOff + n), off);
}
