// The seed driver's nodes (spec §11): what hypervisor_identify reports, printed as Linux v1-v4 printed it. The
// driver called identify once, at probe, on the HLOS's vCPU; so do we, when the tree is built (the words are fixed
// for the life of the hypervisor, spec §2).
import { API_INFO, HYP_FEATURE, SYSFS_FEATURE_WORD, SYSFS_PRINTED_FEATURES } from '../../core/abi/identify.js';
import { VMID } from '../../core/abi/vmid.js';
import { hvc } from '../../core/hyp/call.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import { constant, type FileNode } from '../tree.js';
import { borrowRegisters } from './ends.js';

export interface Identity {
  /** api_info bits 13:0 (spec §2.1). */
  readonly api: number;
  /** api_info bits 63:56: 0x51 (81) for the open-source build. */
  readonly variant: number;
  /** flags0 (spec §2.2), low word: every feature bit lives there. */
  readonly flags0: number;
}

/** hypervisor_identify as the HLOS's driver issues it at probe; the hypervisor's own words before there is an HLOS. */
export function probeIdentity(hyp: Hypervisor): Identity {
  const vcpu = hyp.vms.get(VMID.HLOS)?.vcpus[0];
  const x = vcpu === undefined
    ? [0, 1].map((i) => (BigInt(hyp.identifyWords[2 * i + 1]!) << 32n) | BigInt(hyp.identifyWords[2 * i]!))
    : borrowRegisters(vcpu, () => hvc(vcpu, 'hypervisor_identify').x);
  const apiInfo = x[0]!;
  return {
    api: Number(apiInfo & BigInt(API_INFO.VERSION_MASK)),
    variant: Number(apiInfo >> BigInt(API_INFO.VARIANT_SHIFT)),
    flags0: Number(x[1]! & 0xffffffffn),
  };
}

/**
 * The v1 rule (spec §11): each printed feature the hypervisor reports, followed by a space, then a newline. Only
 * the words the seed's code printed (bits 0 and 2), so the node reads exactly as it did: `cspace message-queue \n`.
 */
export function featuresLine(id: Identity): string {
  let line = '';
  for (const feature of SYSFS_PRINTED_FEATURES) {
    if ((id.flags0 >>> HYP_FEATURE[feature]) & 1) line += `${SYSFS_FEATURE_WORD[feature]} `;
  }
  return `${line}\n`;
}

/** `type`, `features` and `version/{api,variant}` at the root (v1/v2 layout); constants, as identify's words are. */
export function seedRootNodes(id: Identity): { type: FileNode; features: FileNode; api: FileNode; variant: FileNode } {
  return {
    type: constant('gunyah\n'),
    features: constant(featuresLine(id)),
    api: constant(`${id.api}\n`),
    variant: constant(`${id.variant}\n`),
  };
}
