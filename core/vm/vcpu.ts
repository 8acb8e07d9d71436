// spec §6: a vCPU is a thread object. Its registers X0-X7 are what hypercalls read and write.
import { SCHEDULER } from '../abi/vcpu.js';
import { HypObject } from '../hyp/object.js';
import { newRegisterFile } from '../hyp/regs.js';
import type { Vm } from './vm.js';

export class Vcpu extends HypObject {
  readonly type = 'thread' as const;
  readonly regs = newRegisterFile();
  /** The VM whose address space, cspace and vIC this vCPU uses (set when attached). */
  vm: Vm | null = null;
  /** Index in the VM (the vIC attachment index and the RM resource label). */
  index = 0;
  priority: number = SCHEDULER.PRIORITY_DEFAULT;
  timesliceNs: number = SCHEDULER.TIMESLICE_DEFAULT_NS;
  /** Physical CPU index, or -1 for none. */
  affinity = 0;
  /** Hypercalls made by this vCPU. */
  hypercalls = 0;
  private smcccView: { regs: Uint32Array; view: Uint32Array } | null = null;

  /** The SMCCC inputs (X1..X7) of a register file as a view made once: the dispatcher reads them in place. */
  smcccArgs(regs: Uint32Array): Uint32Array {
    const v = this.smcccView;
    if (v !== null && v.regs === regs) return v.view;
    this.smcccView = { regs, view: regs.subarray(2) };
    return this.smcccView.view;
  }
}
