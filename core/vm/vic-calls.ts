// Hypercall handlers for the vIC (spec §1.3 0x28-0x29, §8.1). vic_configure takes the source's five arguments
// (spec §15.5). There are no MSI sources, so vic_bind_msi_source stays unimplemented and max_msis must be 0.
import { GH_ERROR } from '../abi/errors.js';
import { OBJECT_STATE, right, RIGHT_ACTIVATE } from '../abi/objects.js';
import { VIC_OPTION } from '../abi/virq.js';
import type { HandlerTable } from '../hyp/handler.js';
import { argU32 } from '../hyp/regs.js';
import type { Vcpu } from './vcpu.js';
import type { Vic } from './vic.js';

const KNOWN_OPTIONS = VIC_OPTION.MAX_MSIS_VALID | VIC_OPTION.DISABLE_DEFAULT_ADDR;

export const vicCalls: HandlerTable = {
  /** vic_configure(vic, max_vcpus, max_virqs, vic_options, max_msis): ACTIVATE right, INIT only. */
  vic_configure(vcpu, a) {
    const vic = vcpu.vm!.cspace.lookup<Vic>(a[0]!, a[1]!, 'vic', RIGHT_ACTIVATE, false);
    if (typeof vic === 'number') return vic;
    if ((a[6]! & ~KNOWN_OPTIONS) !== 0 || a[7] !== 0) return GH_ERROR.ARGUMENT_INVALID;
    if (vic.state !== OBJECT_STATE.INIT) return GH_ERROR.OBJECT_STATE;
    const maxVcpus = argU32(a, 1);
    const maxVirqs = argU32(a, 2);
    // Without the max_msis-valid option the hypervisor ignores max_msis (older callers leave junk there).
    const maxMsis = (a[6]! & VIC_OPTION.MAX_MSIS_VALID) !== 0 ? argU32(a, 4) : 0;
    if (maxVcpus < 0 || maxVirqs < 0 || maxMsis !== 0) return GH_ERROR.ARGUMENT_INVALID;
    return vic.configure(maxVcpus, maxVirqs);
  },

  /** vic_attach_vcpu(vic, vcpu, index): ATTACH_VCPU on an active vic, ACTIVATE on a vCPU still in INIT. */
  vic_attach_vcpu(vcpu, a) {
    const cspace = vcpu.vm!.cspace;
    const vic = cspace.lookup<Vic>(a[0]!, a[1]!, 'vic', right('vic', 'attach_vcpu'));
    if (typeof vic === 'number') return vic;
    const target = cspace.lookup<Vcpu>(a[2]!, a[3]!, 'thread', RIGHT_ACTIVATE, false);
    if (typeof target === 'number') return target;
    if (target.state !== OBJECT_STATE.INIT) return GH_ERROR.OBJECT_STATE;
    const index = argU32(a, 2);
    if (index < 0) return GH_ERROR.ARGUMENT_INVALID;
    const err = vic.attachVcpu(index, target);
    if (err === GH_ERROR.OK) target.index = index;
    return err;
  },
};
