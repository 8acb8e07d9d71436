// spec §2: hypervisor_identify. X0 = api_info (0x5100000000008001 for the open-source build), X1 = flags0 with
// the features this emulator implements and the FPRR scheduler, X2 = flags1 = 0, X3 = flags2 = 0.
import { API_INFO, GUNYAH_API_VERSION, SCHEDULER_VARIANT } from '../abi/identify.js';
import { resultsInPlace, type HandlerTable } from './handler.js';
import type { Hypervisor } from './hypervisor.js';

export function apiInfo(hyp: Hypervisor): bigint {
  return (BigInt(hyp.variant) << BigInt(API_INFO.VARIANT_SHIFT))
    | (1n << BigInt(API_INFO.IS_64BIT_BIT))
    | BigInt(GUNYAH_API_VERSION & API_INFO.VERSION_MASK);
}

export function flags0(hyp: Hypervisor): number {
  return (hyp.featureFlags0 | (SCHEDULER_VARIANT.FPRR << SCHEDULER_VARIANT.SHIFT)) >>> 0;
}

/** The identify registers as words, computed once per hypervisor (identify has no error word). */
export function identifyWords(hyp: Hypervisor): Uint32Array {
  const info = apiInfo(hyp);
  return new Uint32Array([Number(info & 0xffffffffn), Number(info >> 32n), flags0(hyp), 0, 0, 0, 0, 0]);
}

export const identifyCalls: HandlerTable = {
  hypervisor_identify: resultsInPlace((vcpu, _a, out) => {
    const w = vcpu.vm!.hyp.identifyWords; // X0 api_info, X1 flags0, X2 flags1, X3 flags2
    out[0] = w[0]!; out[1] = w[1]!; out[2] = w[2]!; out[3] = w[3]!; out[4] = w[4]!; out[5] = w[5]!; out[6] = w[6]!; out[7] = w[7]!;
    return 0;
  }),
};
