// The memory database (H-MEM memdb): who owns each physical page. Every page belongs either to the partition's
// free pool or to exactly one memory extent; activation, derivation and memextent_donate move ownership, and only
// the owner's mappings make a page visible to a VM (spec §7.1). Kept as sorted runs of pages, so a 1 GiB extent
// is one entry, not 262144.
import { GH_ERROR, type GhError } from '../abi/errors.js';

interface Run<O> {
  start: number;
  end: number;
  owner: O;
}

/** Ownership by page number. `null` is the partition's free pool, the owner of every page nobody claimed. */
export class MemDb<O extends object> {
  /** Extent-owned runs, sorted by start, disjoint; the gaps belong to the partition. */
  private readonly runs: Run<O>[] = [];

  ownerOf(page: number): O | null {
    const i = this.indexAfter(page) - 1;
    const run = this.runs[i];
    return run !== undefined && page < run.end ? run.owner : null;
  }

  /** True when `owner` owns every page of [first, first + count). */
  ownsAll(owner: O | null, first: number, count: number): boolean {
    const end = first + count;
    let at = first;
    for (let i = Math.max(0, this.indexAfter(first) - 1); i < this.runs.length; i++) {
      const run = this.runs[i]!;
      if (run.end <= at) continue;
      if (run.start >= end) break;
      // This run overlaps [at, end): the partition owns none of it, an extent must own it without a gap.
      if (owner === null || run.start > at || run.owner !== owner) return false;
      at = run.end;
      if (at >= end) return true;
    }
    return owner === null;
  }

  /**
   * Move [first, first + count) from `from` to `to` (memdb_update): MEMDB_NOT_OWNER, changing nothing, unless
   * `from` owns every page.
   */
  update(first: number, count: number, to: O | null, from: O | null): GhError {
    if (!this.ownsAll(from, first, count)) return GH_ERROR.MEMDB_NOT_OWNER;
    const end = first + count;
    const kept: Run<O>[] = [];
    let i = Math.max(0, this.indexAfter(first) - 1);
    const lo = i;
    for (; i < this.runs.length && this.runs[i]!.start < end; i++) {
      const run = this.runs[i]!;
      if (run.end <= first) {
        kept.push(run);
        continue;
      }
      if (run.start < first) kept.push({ start: run.start, end: first, owner: run.owner });
      if (run.end > end) kept.push({ start: end, end: run.end, owner: run.owner });
    }
    if (to !== null) kept.push({ start: first, end, owner: to });
    kept.sort((a, b) => a.start - b.start);
    this.runs.splice(lo, i - lo, ...kept);
    this.coalesce(Math.max(0, lo - 1), lo + kept.length + 1);
    return GH_ERROR.OK;
  }

  /** The runs of [first, end) that `owner` holds, as [start, end) page pairs in ascending order. */
  *owned(owner: O, first: number, end: number): IterableIterator<[number, number]> {
    for (let i = Math.max(0, this.indexAfter(first) - 1); i < this.runs.length; i++) {
      const run = this.runs[i]!;
      if (run.start >= end) return;
      if (run.owner !== owner || run.end <= first) continue;
      yield [Math.max(run.start, first), Math.min(run.end, end)];
    }
  }

  /** Pages owned by `owner` in [first, end). */
  countOwned(owner: O, first: number, end: number): number {
    let n = 0;
    for (const [s, e] of this.owned(owner, first, end)) n += e - s;
    return n;
  }

  /** Index of the first run starting after `page`. */
  private indexAfter(page: number): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid]!.start <= page) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Merge touching runs of one owner within [from, to). */
  private coalesce(from: number, to: number): void {
    for (let i = Math.min(to, this.runs.length - 1); i > from; i--) {
      const prev = this.runs[i - 1]!;
      const run = this.runs[i]!;
      if (prev.end === run.start && prev.owner === run.owner) {
        prev.end = run.end;
        this.runs.splice(i, 1);
      }
    }
  }
}
