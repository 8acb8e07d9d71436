// The hypercall entry point (spec §1.1-§1.3): decode the convention, check reserved arguments from the ABI
// table, run the handler, write X0-X7, count the call. Everything here is on the hot path: no allocation.
import { GH_ERROR } from '../abi/errors.js';
import { HYPERCALLS, HYPERCALL_TABLE_SIZE } from '../abi/hypercalls.js';
import { NATIVE_HVC, SMCCC, VENDOR_HYP_CLASS } from '../abi/smccc.js';
import type { Vcpu } from '../vm/vcpu.js';
import { writesResultsInPlace, type Handler } from './handler.js';
import type { Hypervisor } from './hypervisor.js';
import type { RegisterFile } from './regs.js';
import { HANDLERS } from './handlers.js';
import { CALL_INDEX, okCounter } from './stats.js';
import { smcccService } from './smccc-services.js';

interface Entry {
  readonly handler: Handler;
  readonly hasError: boolean;
  /** Results reach past X3 (vcpu_run): only these calls pay for copying X4-X7 back. */
  readonly wide: boolean;
  /** Low word index of the call's reserved argument (R0 or R-1; no call has two), or -1. */
  readonly reservedWord: number;
  /** The reserved argument must be -1 rather than 0 (R0). */
  readonly reservedMinusOne: boolean;
  /** Index of the (call, OK) statistics counter: the common case is one increment. */
  readonly okCounter: number;
  /** The handler writes its results into the caller's registers (resultsInPlace), this many words of them. */
  readonly inPlace: boolean;
  readonly resultWords: number;
}

const TABLE: (Entry | undefined)[] = new Array(HYPERCALL_TABLE_SIZE);
for (const spec of HYPERCALLS) {
  const handler = HANDLERS[spec.name];
  if (handler === undefined) continue; // not implemented: answers as an unknown call
  const reserved = (spec.inputs as readonly string[]).flatMap((name, k) => (name === 'R0' || name === 'R-1' ? [k] : []));
  if (reserved.length > 1) throw new Error(`${spec.name}: the entry point checks one reserved argument per call`);
  TABLE[spec.n] = {
    handler,
    hasError: spec.outputs[0] === 'err',
    wide: spec.outputs.length > 4,
    reservedWord: reserved.length === 0 ? -1 : 2 * reserved[0]!,
    reservedMinusOne: reserved.length === 1 && spec.inputs[reserved[0]!] === 'R-1',
    okCounter: okCounter(spec.n),
    inPlace: writesResultsInPlace(handler),
    resultWords: 2 * spec.outputs.length,
  };
}

const HYPERCALL_ID_MASK = 0xffffc000 | 0;
const HYPERCALL_ID = (((1 << SMCCC.FAST_BIT) | (1 << SMCCC.SMC64_BIT) | (SMCCC.OWNER_VENDOR_HYP << SMCCC.OWNER_SHIFT)
  | (VENDOR_HYP_CLASS.HYPERCALL << VENDOR_HYP_CLASS.SHIFT)) >>> 0) | 0;

const out = new Uint32Array(16);

// The hot path: every guest call comes through here, so rare cases (SMCCC services, unknown calls, errors) live
// in the functions below it.
export function dispatch(hyp: Hypervisor, vcpu: Vcpu, regs: RegisterFile, imm: number): void {
  let n: number;
  let args: RegisterFile;
  if (imm === 0) {
    const fid = regs[0]! | 0; // SMCCC: W0 holds the function ID, the top half of X0 is ignored
    if ((fid & HYPERCALL_ID_MASK) !== HYPERCALL_ID) return smcccService(hyp, vcpu, regs);
    n = fid & VENDOR_HYP_CLASS.NUMBER_MASK;
    args = vcpu.smcccArgs(regs);
  } else if (imm >= NATIVE_HVC.BASE && imm <= NATIVE_HVC.LAST) {
    n = imm - NATIVE_HVC.BASE;
    args = regs;
  } else {
    // Other HVC immediates are not Gunyah calls; the hypervisor answers as for an unknown call.
    return unknownCall(hyp, vcpu, regs);
  }
  const entry = n < HYPERCALL_TABLE_SIZE ? TABLE[n] : undefined;
  if (entry === undefined) return unknownCall(hyp, vcpu, regs);
  // A reserved argument holding anything else is ARGUMENT_INVALID, as the hypervisor checks it.
  const w = entry.reservedWord;
  let err: number = w >= 0
    && (entry.reservedMinusOne ? (args[w]! & args[w + 1]!) !== -1 : (args[w]! | args[w + 1]!) !== 0)
    ? GH_ERROR.ARGUMENT_INVALID : GH_ERROR.OK;
  if (entry.inPlace) {
    if (err === GH_ERROR.OK) err = entry.handler(vcpu, args, regs);
    let from = entry.resultWords;
    if (entry.hasError) {
      regs[0] = err >>> 0;
      regs[1] = err < 0 ? 0xffffffff : 0;
      if (err !== GH_ERROR.OK) from = 2; // on error only X0 is meaningful
    } else {
      err = GH_ERROR.OK;
    }
    zeroResults(regs, from);
    if (hyp.stats.enabled) countCall(hyp, vcpu, entry, n, err);
    return;
  }
  // Other handlers read the inputs in place and write results to a zeroed scratch file that is copied back at
  // the end. Straight-line stores: a loop here costs more than the whole handler of a simple call.
  const wide = entry.wide;
  out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0; out[4] = 0; out[5] = 0; out[6] = 0; out[7] = 0;
  if (wide) { out[8] = 0; out[9] = 0; out[10] = 0; out[11] = 0; out[12] = 0; out[13] = 0; out[14] = 0; out[15] = 0; }
  if (err === GH_ERROR.OK) err = entry.handler(vcpu, args, out);
  if (entry.hasError) {
    out[0] = err >>> 0;
    out[1] = err < 0 ? 0xffffffff : 0;
    if (err !== GH_ERROR.OK) clearResults();
  } else {
    err = GH_ERROR.OK;
  }
  regs[0] = out[0]!; regs[1] = out[1]!; regs[2] = out[2]!; regs[3] = out[3]!;
  regs[4] = out[4]!; regs[5] = out[5]!; regs[6] = out[6]!; regs[7] = out[7]!;
  if (wide) {
    regs[8] = out[8]!; regs[9] = out[9]!; regs[10] = out[10]!; regs[11] = out[11]!;
    regs[12] = out[12]!; regs[13] = out[13]!; regs[14] = out[14]!; regs[15] = out[15]!;
  } else {
    regs[8] = 0; regs[9] = 0; regs[10] = 0; regs[11] = 0; regs[12] = 0; regs[13] = 0; regs[14] = 0; regs[15] = 0;
  }
  if (hyp.stats.enabled) countCall(hyp, vcpu, entry, n, err);
}

/** `count` for the table's calls: the entry's precomputed OK counter (calling `count` measured 20-40 instructions more). */
function countCall(hyp: Hypervisor, vcpu: Vcpu, entry: Entry, n: number, err: number): void {
  if (err === GH_ERROR.OK) hyp.stats.counts[entry.okCounter]++;
  else hyp.stats.record(n, err);
  vcpu.hypercalls++;
}

/** Zero the result registers from word `from` (even, >= 2) to X7: straight-line stores, cheaper than a loop. */
function zeroResults(regs: RegisterFile, from: number): void {
  if (from <= 2) { regs[2] = 0; regs[3] = 0; }
  if (from <= 4) { regs[4] = 0; regs[5] = 0; }
  if (from <= 6) { regs[6] = 0; regs[7] = 0; }
  if (from <= 8) { regs[8] = 0; regs[9] = 0; }
  if (from <= 10) { regs[10] = 0; regs[11] = 0; }
  if (from <= 12) { regs[12] = 0; regs[13] = 0; }
  if (from <= 14) { regs[14] = 0; regs[15] = 0; }
}

/** On error only X0 is meaningful. */
function clearResults(): void {
  for (let i = 2; i < 16; i++) out[i] = 0;
}

/** X0 = -1: SMCCC_UNKNOWN_FUNCTION64 and the native ERROR_UNIMPLEMENTED are the same value (spec §1.1). */
export function unknownCall(hyp: Hypervisor, vcpu: Vcpu, regs: RegisterFile): void {
  regs.fill(0);
  regs[0] = 0xffffffff;
  regs[1] = 0xffffffff;
  if (hyp.stats.enabled) count(hyp, vcpu, CALL_INDEX.UNKNOWN, GH_ERROR.UNIMPLEMENTED);
}

/** Count a call (the caller checks `hyp.stats.enabled`). */
export function count(hyp: Hypervisor, vcpu: Vcpu, call: number, result: number): void {
  hyp.stats.record(call, result);
  vcpu.hypercalls++;
}
