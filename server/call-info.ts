// What a raw hypercall is, decoded the way the dispatcher does (spec §1.1-§1.3): its name, and whether X0 is an
// error code (most hypercalls) or a value (hypervisor_identify, the SMCCC services).
import { ghErrorName } from '../core/abi/errors.js';
import { HYPERCALLS, type HypercallSpec } from '../core/abi/hypercalls.js';
import { HYPERCALL_FUNCTION_ID_BASE, NATIVE_HVC, SMCCC_CALL, VENDOR_HYP_CLASS } from '../core/abi/smccc.js';

const BY_NUMBER = new Map<number, HypercallSpec>(HYPERCALLS.map((c) => [c.n, c]));
const SMCCC_BY_ID = new Map<number, string>(Object.entries(SMCCC_CALL).map(([name, id]) => [id, name]));

export interface CallInfo {
  /** The hypercall's name (`msgqueue_send`) or SMCCC service (`VENDOR_HYP_CALL_UID`); null when unknown. */
  readonly name: string | null;
  /** X0 carries a GH error code. */
  readonly hasError: boolean;
}

const UNKNOWN: CallInfo = { name: null, hasError: true };

function hypercall(n: number): CallInfo {
  const spec = BY_NUMBER.get(n);
  return spec === undefined ? UNKNOWN : { name: spec.name, hasError: spec.outputs[0] === 'err' };
}

/** SMCCC convention: W0 is the function ID (the dispatcher ignores the top half of X0). */
export function smcccCallInfo(functionId: number): CallInfo {
  const fid = functionId >>> 0;
  if ((fid & ~VENDOR_HYP_CLASS.NUMBER_MASK) >>> 0 === HYPERCALL_FUNCTION_ID_BASE) {
    return hypercall(fid & VENDOR_HYP_CLASS.NUMBER_MASK);
  }
  const name = SMCCC_BY_ID.get(fid);
  return name === undefined ? UNKNOWN : { name, hasError: false };
}

/** Native convention: `hvc #imm` with imm = 0x6000 + n. */
export function nativeCallInfo(imm: number): CallInfo {
  return imm >= NATIVE_HVC.BASE && imm <= NATIVE_HVC.LAST ? hypercall(imm - NATIVE_HVC.BASE) : UNKNOWN;
}

/**
 * The `error` member of a raw call's answer: the GH error name of X0 for calls that return one, `ERROR_UNIMPLEMENTED`
 * for unknown calls (X0 = -1, spec §1.1), null when X0 is a value.
 */
export function callErrorName(info: CallInfo, x0: bigint): string | null {
  return info.hasError ? ghErrorName(Number(BigInt.asIntN(64, x0))) : null;
}
