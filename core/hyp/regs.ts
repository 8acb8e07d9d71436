// A vCPU's argument/result registers X0-X7 as 16 uint32 words (lo, hi per register): the hot path reads and
// writes them without allocating BigInts. Helpers convert at the edges (REST, guest images, tests).
import { hex64 } from '../hex.js';

export type RegisterFile = Uint32Array;
export const REGISTER_COUNT = 8;

export const newRegisterFile = (): RegisterFile => new Uint32Array(REGISTER_COUNT * 2);

const TWO32 = 0x1_0000_0000;

/** Set register `i` from a bigint or a safe integer (negative values are two's complement). */
export function setReg(r: RegisterFile, i: number, value: bigint | number): void {
  if (typeof value === 'number') {
    if (value >= 0 && value < TWO32) {
      r[2 * i] = value;
      r[2 * i + 1] = 0;
      return;
    }
    value = BigInt(value);
  }
  const v = BigInt.asUintN(64, value);
  r[2 * i] = Number(v & 0xffffffffn);
  r[2 * i + 1] = Number(v >> 32n);
}

/** Register `i` as an unsigned 64-bit bigint. */
export const getReg = (r: RegisterFile, i: number): bigint =>
  (BigInt(r[2 * i + 1]!) << 32n) | BigInt(r[2 * i]!);

/** Register `i` as a signed 64-bit bigint (error codes). */
export const getRegSigned = (r: RegisterFile, i: number): bigint => BigInt.asIntN(64, getReg(r, i));

/** Register `i` as a JS number when it fits in 53 bits, else NaN. */
export function getRegNumber(r: RegisterFile, i: number): number {
  const hi = r[2 * i + 1]!;
  return hi < 0x200000 ? hi * TWO32 + r[2 * i]! : Number.NaN;
}

/** Write a small signed value (an error code) sign-extended to 64 bits. */
export function setRegSigned(r: RegisterFile, i: number, value: number): void {
  r[2 * i] = value >>> 0;
  r[2 * i + 1] = value < 0 ? 0xffffffff : 0;
}

/** Read a 64-bit argument that must fit in 32 bits; -1 when it does not (callers treat that as invalid). */
export const argU32 = (a: RegisterFile, k: number): number => (a[2 * k + 1] === 0 ? a[2 * k]! : -1);

/** True when a 64-bit argument is all ones (the -1 sentinel of several calls). */
export const argIsMinusOne = (a: RegisterFile, k: number): boolean =>
  a[2 * k] === 0xffffffff && a[2 * k + 1] === 0xffffffff;

/** A 64-bit argument as a signed JS number when it is within ±2^31, else NaN. */
export function argSmallSigned(a: RegisterFile, k: number): number {
  const lo = a[2 * k]!, hi = a[2 * k + 1]!;
  if (hi === 0 && lo < 0x80000000) return lo;
  if (hi === 0xffffffff && lo >= 0x80000000) return lo - TWO32;
  return Number.NaN;
}

/** Format registers as 16-digit hex strings (REST and logs). */
export const formatRegs = (r: RegisterFile): string[] =>
  Array.from({ length: REGISTER_COUNT }, (_, i) => hex64(getReg(r, i)));
