// A VM as the hypervisor sees it: the threads that share one address space (named by its VMID), one cspace and
// one vIC. Gunyah has no "VM object"; this record groups them so the layers above can find a VM by VMID.
import type { GuestProgram } from '../guest/guest-cpu.js';
import type { CSpace } from '../hyp/cspace.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import type { Addrspace } from '../mem/addrspace.js';
import type { GuestMemory } from '../mem/guest-memory.js';
import type { Vcpu } from './vcpu.js';
import type { Vic } from './vic.js';

export class Vm {
  readonly vcpus: Vcpu[] = [];
  /**
   * The guest programs loaded in this VM, by entry IPA: an image loader registers one here, and vcpu_poweron with
   * that entry IPA starts it on the vCPU (core/guest).
   */
  readonly programs = new Map<number, GuestProgram>();

  constructor(
    readonly hyp: Hypervisor,
    readonly vmid: number,
    public name: string,
    readonly cspace: CSpace,
    readonly addrspace: Addrspace,
    readonly vic: Vic,
  ) {}

  /** Hypercalls made by any vCPU of this VM: the sum of the vCPUs' own counters (one increment per call). */
  get hypercalls(): number {
    let n = 0;
    for (const vcpu of this.vcpus) n += vcpu.hypercalls;
    return n;
  }

  get memory(): GuestMemory {
    return this.addrspace.memory;
  }
}
