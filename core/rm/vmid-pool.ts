// spec §13.1 (R-MGNT free_dynamic_vmids / free_secondary_vmids): VMIDs the RM hands out at VM_ALLOCATE. Dynamic
// VMIDs are 0x80-0xBF, lowest free first; fixed ("secondary") VMIDs are below 64 and given only when free. VMID 0
// means "self" in requests and the HLOS keeps 3, so neither is ever handed out.
import { DYNAMIC_VMID, FIXED_VMID_LIMIT, VMID } from '../abi/vmid.js';

export class VmidPool {
  private readonly taken = new Set<number>([VMID.HYP, VMID.HLOS]);

  /** The lowest free dynamic VMID, taken; null when all 64 are in use. */
  takeDynamic(): number | null {
    for (let vmid = DYNAMIC_VMID.FIRST; vmid <= DYNAMIC_VMID.LAST; vmid++) {
      if (!this.taken.has(vmid)) {
        this.taken.add(vmid);
        return vmid;
      }
    }
    return null;
  }

  /** Take a fixed VMID below 64; false when it is out of range or in use. */
  takeFixed(vmid: number): boolean {
    if (!(vmid > 0 && vmid < FIXED_VMID_LIMIT) || this.taken.has(vmid)) return false;
    this.taken.add(vmid);
    return true;
  }

  release(vmid: number): void {
    if (vmid !== VMID.HYP && vmid !== VMID.HLOS) this.taken.delete(vmid);
  }
}
