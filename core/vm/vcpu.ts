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
}
