// The hypercall entry point (spec §1.1-§1.3): decode the convention, check reserved arguments from the ABI
// table, run the handler, write X0-X7, count the call. Everything here is on the hot path: no allocation.
import { GH_ERROR } from '../abi/errors.js';
import { HYPERCALLS, HYPERCALL_TABLE_SIZE } from '../abi/hypercalls.js';
import { NATIVE_HVC, SMCCC, VENDOR_HYP_CLASS } from '../abi/smccc.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Handler } from './handler.js';
import type { Hypervisor } from './hypervisor.js';
import type { RegisterFile } from './regs.js';
import { HANDLERS } from './handlers.js';
import { CALL_INDEX } from './stats.js';
import { smcccService } from './smccc-services.js';

interface Entry {
  readonly handler: Handler;
  readonly hasError: boolean;
  readonly resultCount: number;
  /** Argument indexes that must be 0 (R0) and -1. */
  readonly mustBeZero: readonly number[];
  readonly mustBeMinusOne: readonly number[];
}

const TABLE: (Entry | undefined)[] = new Array(HYPERCALL_TABLE_SIZE);
for (const spec of HYPERCALLS) {
  const handler = HANDLERS[spec.name];
  if (handler === undefined) continue; // not implemented: answers as an unknown call
  const inputs = spec.inputs as readonly string[];
  TABLE[spec.n] = {
    handler,
    hasError: spec.outputs[0] === 'err',
    resultCount: spec.outputs.length,
    mustBeZero: inputs.flatMap((name, k) => (name === 'R0' ? [k] : [])),
    mustBeMinusOne: inputs.flatMap((name, k) => (name === 'R-1' ? [k] : [])),
  };
}

const HYPERCALL_ID_MASK = 0xffffc000 | 0;
const HYPERCALL_ID = (((1 << SMCCC.FAST_BIT) | (1 << SMCCC.SMC64_BIT) | (SMCCC.OWNER_VENDOR_HYP << SMCCC.OWNER_SHIFT)
  | (VENDOR_HYP_CLASS.HYPERCALL << VENDOR_HYP_CLASS.SHIFT)) >>> 0) | 0;

const out = new Uint32Array(16);

export function dispatch(hyp: Hypervisor, vcpu: Vcpu, regs: RegisterFile, imm: number): void {
  let n: number;
  let argBase: number;
  if (imm === 0) {
    const fid = regs[0]! | 0; // SMCCC: W0 holds the function ID, the top half of X0 is ignored
    if ((fid & HYPERCALL_ID_MASK) !== HYPERCALL_ID) {
      smcccService(hyp, vcpu, regs);
      return;
    }
    n = fid & VENDOR_HYP_CLASS.NUMBER_MASK;
    argBase = 2;
  } else if (imm >= NATIVE_HVC.BASE && imm <= NATIVE_HVC.LAST) {
    n = imm - NATIVE_HVC.BASE;
    argBase = 0;
  } else {
    // Other HVC immediates are not Gunyah calls; the hypervisor answers as for an unknown call.
    unknownCall(hyp, vcpu, regs);
    return;
  }
  const entry = n < HYPERCALL_TABLE_SIZE ? TABLE[n] : undefined;
  if (entry === undefined) {
    unknownCall(hyp, vcpu, regs);
    return;
  }
  // Handlers read the inputs in place and write results to a scratch file copied back at the end.
  const args = argBase === 0 ? regs : vcpu.smcccArgs(regs);
  for (let i = 0; i < 16; i++) out[i] = 0;
  let err: number = GH_ERROR.OK;
  const zero = entry.mustBeZero;
  for (let i = 0; i < zero.length; i++) {
    const k = zero[i]!;
    if (args[2 * k] !== 0 || args[2 * k + 1] !== 0) err = GH_ERROR.ARGUMENT_INVALID;
  }
  const minusOne = entry.mustBeMinusOne;
  for (let i = 0; i < minusOne.length; i++) {
    const k = minusOne[i]!;
    if (args[2 * k] !== 0xffffffff || args[2 * k + 1] !== 0xffffffff) err = GH_ERROR.ARGUMENT_INVALID;
  }
  if (err === GH_ERROR.OK) err = entry.handler(vcpu, args, out);
  if (entry.hasError) {
    out[0] = err >>> 0;
    out[1] = err < 0 ? 0xffffffff : 0;
    if (err !== GH_ERROR.OK) for (let i = 2; i < 16; i++) out[i] = 0; // on error only X0 is meaningful
  }
  regs.set(out);
  count(hyp, vcpu, n, entry.hasError ? err : GH_ERROR.OK);
}

/** X0 = -1: SMCCC_UNKNOWN_FUNCTION64 and the native ERROR_UNIMPLEMENTED are the same value (spec §1.1). */
export function unknownCall(hyp: Hypervisor, vcpu: Vcpu, regs: RegisterFile): void {
  regs.fill(0);
  regs[0] = 0xffffffff;
  regs[1] = 0xffffffff;
  count(hyp, vcpu, CALL_INDEX.UNKNOWN, GH_ERROR.UNIMPLEMENTED);
}

export function count(hyp: Hypervisor, vcpu: Vcpu, call: number, result: number): void {
  if (!hyp.stats.enabled) return;
  hyp.stats.record(call, result);
  vcpu.hypercalls++;
  if (vcpu.vm !== null) vcpu.vm.hypercalls++;
}
