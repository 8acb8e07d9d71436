// Emulated physical memory: sparse 4 KiB pages materialised on first use, plus the memdb saying who owns each.
// Memory extents name ranges of it (spec §7.1); mapping an extent shows its owned pages to a VM, so a page mapped
// into two address spaces is one Buffer seen by both.
import { PAGE_SIZE } from '../abi/memory.js';
import { MemDb } from './memdb.js';

/**
 * Pages in the emulator's physical and intermediate-physical address spaces (2^52 bytes: byte addresses stay
 * exact doubles). Ranges beyond are refused like ranges past the end of a real platform's address map.
 */
export const ADDRESS_LIMIT_PAGES = 2 ** 40;

export class PhysMemory<Owner extends object = object> {
  private readonly pages = new Map<number, Buffer>();
  readonly memdb = new MemDb<Owner>();

  /** Pages materialised so far (metrics). */
  get residentPages(): number {
    return this.pages.size;
  }

  /** The page, allocated zero-filled on first use. */
  page(pageNo: number): Buffer {
    let page = this.pages.get(pageNo);
    if (page === undefined) {
      page = Buffer.alloc(PAGE_SIZE);
      this.pages.set(pageNo, page);
    }
    return page;
  }

  /** Zero [first, end): pages never touched are zero already and stay unallocated. */
  zero(first: number, end: number): void {
    if (end - first > this.pages.size) {
      for (const [p, page] of this.pages) if (p >= first && p < end) page.fill(0);
    } else {
      for (let p = first; p < end; p++) this.pages.get(p)?.fill(0);
    }
  }
}
