// The HLOS's physical memory allocator: carves page-aligned ranges out of the HLOS RAM for the parcels it lends to
// the VMs it creates (spec §7.2, §9.7: a VM's memory is a parcel of the host's memory, lent with MEM_LEND). First
// fit over a sorted free list; freed ranges merge with their neighbours.
import { PAGE_SIZE } from '../abi/memory.js';

export interface MemRange {
  readonly base: number;
  readonly size: number;
}

export class HlosMemory {
  /** Free ranges sorted by base, never adjacent (merged). */
  private readonly free: MemRange[];
  /** Allocated ranges by base. */
  private readonly used = new Map<number, number>();

  constructor(readonly base: number, readonly size: number) {
    if (base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || size <= 0) {
      throw new RangeError(`HLOS RAM [0x${base.toString(16)}, +0x${size.toString(16)}) is not page aligned`);
    }
    this.free = [{ base, size }];
  }

  /** Bytes not allocated. */
  get available(): number {
    return this.free.reduce((n, r) => n + r.size, 0);
  }

  get allocated(): readonly MemRange[] {
    return [...this.used].map(([base, size]) => ({ base, size })).sort((a, b) => a.base - b.base);
  }

  /** A range of `size` bytes rounded up to whole pages, or null when no free range is large enough. */
  alloc(size: number): MemRange | null {
    if (!(Number.isSafeInteger(size) && size > 0)) return null;
    const want = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const i = this.free.findIndex((r) => r.size >= want);
    if (i < 0) return null;
    const r = this.free[i]!;
    if (r.size === want) this.free.splice(i, 1);
    else this.free[i] = { base: r.base + want, size: r.size - want };
    this.used.set(r.base, want);
    return { base: r.base, size: want };
  }

  /** Return a range alloc gave; false when `base` is not the start of an allocated range. */
  release(base: number): boolean {
    const size = this.used.get(base);
    if (size === undefined) return false;
    this.used.delete(base);
    let i = this.free.findIndex((r) => r.base > base);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { base, size });
    const next = this.free[i + 1];
    if (next && base + size === next.base) this.free.splice(i, 2, { base, size: size + next.size });
    const prev = this.free[i - 1];
    const cur = this.free[i]!;
    if (prev && prev.base + prev.size === cur.base) this.free.splice(i - 1, 2, { base: prev.base, size: prev.size + cur.size });
    return true;
  }
}
