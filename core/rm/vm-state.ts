// spec §9.5: the RM's VM state machine, as R-MGNT vm_mgnt_state_change_valid decides it. Every change of a VM's
// vm_status goes through `stateChangeValid`; an illegal one is RM_ERROR_VM_STATE to the requester.
import { VM_STATUS, type VmStatus } from '../abi/rm.js';

const S = VM_STATUS;

/** For each target state, the states it may be entered from. */
const ENTERED_FROM: ReadonlyMap<VmStatus, readonly VmStatus[]> = new Map<VmStatus, VmStatus[]>([
  [S.LOAD, [S.NO_STATE]],
  [S.AUTH, [S.LOAD, S.RESET]],
  [S.INIT, [S.LOAD, S.AUTH, S.RESET]],
  [S.READY, [S.INIT]],
  [S.RUNNING, [S.READY, S.PAUSED]],
  [S.PAUSED, [S.RUNNING]],
  [S.EXITED, [S.RUNNING, S.PAUSED]],
  [S.INIT_FAILED, [S.INIT, S.READY, S.LOAD, S.AUTH, S.RESET]],
  [S.RESETTING, [S.EXITED, S.READY, S.INIT_FAILED]],
  [S.RESET, [S.RESETTING]],
  [S.NO_STATE, [S.RESET]],
]);

/** R-MGNT also refuses PAUSED and EXITED to "no_shutdown" VMs; the emulator configures none. */
export function stateChangeValid(from: VmStatus, to: VmStatus): boolean {
  return ENTERED_FROM.get(to)?.includes(from) ?? false;
}

/** Every state named in spec §9.5, for tests and documentation. */
export const ALL_VM_STATUSES: readonly VmStatus[] = Object.values(VM_STATUS);
