// Guest-supplied 64-bit addresses and sizes as page numbers plus an in-page remainder: exact for every u64
// (page < 2^52), so alignment, wrap-around and range checks need no BigInt and lose no bits.
import { PAGE_SHIFT, PAGE_SIZE } from '../abi/memory.js';
import type { RegisterFile } from '../hyp/regs.js';

export interface PageAddr {
  /** value >> 12 */
  readonly page: number;
  /** value & 0xfff */
  readonly rem: number;
}

/** Pages in 2^64 bytes: a range whose last page reaches this wraps around the address space. */
export const U64_PAGES = 2 ** 52;

/** Hypercall argument k as a PageAddr. */
export function pageArg(a: RegisterFile, k: number): PageAddr {
  const lo = a[2 * k]!;
  return { page: a[2 * k + 1]! * 2 ** (32 - PAGE_SHIFT) + (lo >>> PAGE_SHIFT), rem: lo & (PAGE_SIZE - 1) };
}

/** A PageAddr from a byte value (tests, internal callers). */
export function pageAddr(bytes: number): PageAddr {
  return { page: Math.floor(bytes / PAGE_SIZE), rem: bytes % PAGE_SIZE };
}

export const isAligned = (v: PageAddr): boolean => v.rem === 0;
export const isZero = (v: PageAddr): boolean => v.page === 0 && v.rem === 0;

/** The page holding the last byte of [base, base + size), size > 0; >= U64_PAGES when the range wraps. */
export const lastPage = (base: PageAddr, size: PageAddr): number =>
  base.page + size.page + Math.floor((base.rem + size.rem - 1) / PAGE_SIZE);

/** The page number of base + size (the end address); >= U64_PAGES when the end does not fit in 64 bits. */
export const endPage = (base: PageAddr, size: PageAddr): number =>
  base.page + size.page + Math.floor((base.rem + size.rem) / PAGE_SIZE);
