// The shape every hypercall handler has (style.md: handlers are thin and all alike): look the capability up in
// the caller's cspace for one object type and one right, call the module, return the error and fill results.
import type { HypercallName } from '../abi/hypercalls.js';
import type { RegisterFile } from './regs.js';
import type { Vcpu } from '../vm/vcpu.js';

/**
 * @param a   the inputs after the function ID: argument k in a[2k] (low word) and a[2k+1] (high word)
 * @param out the results: result k (k >= 1; X0 holds the error) in out[2k], out[2k+1]; a zeroed scratch file, or
 *            the caller's registers for a handler marked resultsInPlace
 * @returns the GH error code for X0 (for calls without an error word, see HypercallSpec.outputs, the value is ignored)
 */
export type Handler = (vcpu: Vcpu, a: RegisterFile, out: RegisterFile) => number;

export type HandlerTable = Partial<Record<HypercallName, Handler>>;

const inPlace = new WeakSet<Handler>();

/**
 * Mark a hot call's handler as writing its results straight into the caller's registers (`out` is then the
 * register file itself, not a zeroed scratch file), which saves the entry point a zeroing and a copy per call.
 * Inputs and results share registers, so such a handler reads every input before it writes any result, and it
 * writes every word of each result it returns (X1 up; X0 too for a call without an error word). The entry point
 * writes the error word and zeroes the registers past the results, or past X0 on an error.
 */
export function resultsInPlace(handler: Handler): Handler {
  inPlace.add(handler);
  return handler;
}

export const writesResultsInPlace = (handler: Handler): boolean => inPlace.has(handler);

/** Write a 64-bit bigint result. */
export function setResult(out: RegisterFile, k: number, value: bigint): void {
  out[2 * k] = Number(value & 0xffffffffn);
  out[2 * k + 1] = Number((value >> 32n) & 0xffffffffn);
}

/** A 64-bit argument as a JS number (addresses, sizes); NaN when above 2^53. */
export function argNumber(a: RegisterFile, k: number): number {
  const hi = a[2 * k + 1]!;
  return hi < 0x200000 ? hi * 0x1_0000_0000 + a[2 * k]! : Number.NaN;
}

/** A 64-bit argument as a bigint (flags and masks). */
export const argBig = (a: RegisterFile, k: number): bigint => (BigInt(a[2 * k + 1]!) << 32n) | BigInt(a[2 * k]!);
