// spec §1.2: the SMCCC calls that are not hypercalls: vendor-hyp and standard-hyp services, SMCCC_VERSION and
// SMCCC_ARCH_FEATURES. Any other function ID answers SMCCC_UNKNOWN_FUNCTION64 (-1).
import { GH_ERROR } from '../abi/errors.js';
import {
  CALL_UID_LAYOUTS, SMCCC, SMCCC_CALL, SMCCC_VERSION_VALUE, STANDARD_HYP_REVISION, type SmcccCallName,
} from '../abi/smccc.js';
import type { Vcpu } from '../vm/vcpu.js';
import { count, unknownCall } from './dispatch.js';
import type { Hypervisor } from './hypervisor.js';
import { apiInfo } from './identify.js';
import { setReg, type RegisterFile } from './regs.js';
import { CALL_INDEX } from './stats.js';

const BY_ID = new Map<number, SmcccCallName>(
  (Object.keys(SMCCC_CALL) as SmcccCallName[]).map((name) => [SMCCC_CALL[name], name]),
);

/** SMCCC_ARCH_FEATURES answers 0 for the arch calls implemented here and NOT_SUPPORTED (-1) for the rest. */
const ARCH_FEATURES_SUPPORTED = new Set<number>([SMCCC_CALL.SMCCC_VERSION, SMCCC_CALL.SMCCC_ARCH_FEATURES]);

export function smcccService(hyp: Hypervisor, vcpu: Vcpu, regs: RegisterFile): void {
  const fid = regs[0]!;
  const name = BY_ID.get(fid);
  if (name === undefined) {
    unknownCall(hyp, vcpu, regs);
    return;
  }
  const query = regs[2]!;
  const queryHi = regs[3]!;
  regs.fill(0);
  let result: number = GH_ERROR.OK;
  switch (name) {
    case 'VENDOR_HYP_CALL_UID':
    case 'STANDARD_HYP_CALL_UID':
      CALL_UID_LAYOUTS[hyp.callUidLayout].forEach((word, i) => setReg(regs, i, word));
      break;
    case 'VENDOR_HYP_REVISION':
      setReg(regs, 0, apiInfo(hyp)); // the same value as hypervisor_identify X0
      break;
    case 'STANDARD_HYP_REVISION':
      setReg(regs, 0, STANDARD_HYP_REVISION.MAJOR);
      setReg(regs, 1, STANDARD_HYP_REVISION.MINOR);
      break;
    case 'VENDOR_HYP_CALL_COUNT': // deprecated: -1
      setReg(regs, 0, SMCCC.UNKNOWN_FUNCTION);
      result = GH_ERROR.UNIMPLEMENTED;
      break;
    case 'SMCCC_VERSION':
      setReg(regs, 0, SMCCC_VERSION_VALUE);
      break;
    case 'SMCCC_ARCH_FEATURES': {
      const supported = queryHi === 0 && ARCH_FEATURES_SUPPORTED.has(query);
      setReg(regs, 0, supported ? 0 : SMCCC.UNKNOWN_FUNCTION);
      result = supported ? GH_ERROR.OK : GH_ERROR.UNIMPLEMENTED;
      break;
    }
  }
  if (hyp.stats.enabled) count(hyp, vcpu, CALL_INDEX.smccc(name), result);
}
