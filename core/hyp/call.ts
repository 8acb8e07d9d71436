// A convenient, allocation-happy way to make one hypercall by name on a vCPU's own registers: what guest images,
// the REST layer's raw-hypercall route and tests use. The hot path (benchmarks) writes registers directly.
import { HC, type HypercallName } from '../abi/hypercalls.js';
import { hypercallFunctionId, NATIVE_HVC } from '../abi/smccc.js';
import type { Vcpu } from '../vm/vcpu.js';
import { getReg, REGISTER_COUNT, setReg } from './regs.js';

export interface CallResult {
  /** X0 as a signed number (the GH error for calls that have one). */
  readonly err: number;
  /** X0-X7 as unsigned 64-bit values. */
  readonly x: readonly bigint[];
}

export type Convention = 'smccc' | 'native';

/** Run hypercall `name` with `args` (the inputs after the function ID) on `vcpu`. */
export function hvc(vcpu: Vcpu, name: HypercallName, args: readonly (bigint | number)[] = [], conv: Convention = 'smccc'): CallResult {
  const n = HC[name];
  const regs = vcpu.regs;
  regs.fill(0);
  const base = conv === 'smccc' ? 1 : 0;
  if (conv === 'smccc') setReg(regs, 0, hypercallFunctionId(n));
  args.forEach((v, i) => setReg(regs, base + i, v));
  vcpu.vm!.hyp.hypercall(vcpu, regs, conv === 'smccc' ? 0 : NATIVE_HVC.BASE + n);
  return readResult(vcpu);
}

/** Run a raw SMCCC call: X0 = function ID, X1.. = args. */
export function smc(vcpu: Vcpu, functionId: number, args: readonly (bigint | number)[] = []): CallResult {
  const regs = vcpu.regs;
  regs.fill(0);
  setReg(regs, 0, functionId);
  args.forEach((v, i) => setReg(regs, 1 + i, v));
  vcpu.vm!.hyp.hypercall(vcpu, regs, 0);
  return readResult(vcpu);
}

function readResult(vcpu: Vcpu): CallResult {
  const x = Array.from({ length: REGISTER_COUNT }, (_, i) => getReg(vcpu.regs, i));
  return { err: Number(BigInt.asIntN(64, x[0]!)), x };
}
