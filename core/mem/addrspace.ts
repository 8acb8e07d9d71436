// An address space: the stage-2 translation of one VM, named by its VMID (spec §7.1 addrspace_configure).
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { HypObject } from '../hyp/object.js';
import { GuestMemory } from './guest-memory.js';

const VMID_MASK = 0xffff;

export class Addrspace extends HypObject {
  readonly type = 'addrspace' as const;
  vmid = -1;
  readonly memory = new GuestMemory();

  /** addrspace_configure: a 16-bit VMID, only while INIT. */
  configure(vmid: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (!(vmid >= 0 && vmid <= VMID_MASK)) return GH_ERROR.ARGUMENT_INVALID;
    this.vmid = vmid;
    return GH_ERROR.OK;
  }

  protected override onActivate(): GhError {
    return this.vmid < 0 ? GH_ERROR.OBJECT_CONFIG : GH_ERROR.OK;
  }
}
