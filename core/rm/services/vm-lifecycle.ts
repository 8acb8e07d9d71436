// Running and stopping VMs (spec §9.4-§9.5, R-MGNT): VM_START, VM_STOP, VM_RESET, VM_EXIT. Every change of
// vm_status goes through the §9.5 table (RM_ERROR_VM_STATE when it refuses) and is announced with VM_STATUS.
import {
  EXIT_TYPE, OS_STATUS, RM_ERROR, RM_MSG, RM_NOTIF, VM_EXIT_CODE, VM_STATUS, VM_STOP_FLAG,
} from '../../abi/rm.js';
import { VMID } from '../../abi/vmid.js';
import { isRmError, VmExitRequest, VmidRequest, VmShutdownNotification, VmStopRequest } from '../messages.js';
import type { RpcRequest, Service, ServiceResult } from '../resource-manager.js';
import { stateChangeValid } from '../vm-state.js';

/** Owner only (DENIED); READY only (VM_STATE). vCPU 0 is powered on at the image entry; RUNNING. */
function start({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid);
  if (rvm === undefined) return RM_ERROR.VMID_INVALID;
  if (rvm.owner !== client.vmid) return RM_ERROR.DENIED;
  if (rvm.status !== VM_STATUS.READY) return RM_ERROR.VM_STATE;
  const vcpu0 = rvm.caps?.vcpus[0];
  const err = vcpu0 === undefined ? 'no vCPU' : rm.gi.call('vcpu_poweron', [vcpu0, rvm.entry, 0, 0]);
  if (err !== null) {
    // R-MGNT vm_mgnt_handle_start: a VM that cannot be started fails its init.
    rm.setStatus(rvm, VM_STATUS.INIT_FAILED);
    return RM_ERROR.NORESOURCE;
  }
  rm.setStatus(rvm, VM_STATUS.RUNNING);
  return RM_ERROR.OK;
}

/**
 * Owner only, and an unknown VM, are both VMID_INVALID (R-MGNT). The EXITED transition must be valid (VM_STATE).
 * FORCE kills the vCPUs, moves to EXITED and sends VM_EXITED (VM_STOP_FORCED) to the owner; without it the VM
 * is asked to shut down with VM_SHUTDOWN and stays RUNNING until it exits.
 */
function stop({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmStopRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid);
  if (rvm === undefined || rvm.owner !== client.vmid) return RM_ERROR.VMID_INVALID;
  if (!stateChangeValid(rvm.status, VM_STATUS.EXITED)) return RM_ERROR.VM_STATE;
  if ((req.flags & VM_STOP_FLAG.FORCE) !== 0) {
    rm.killVcpus(rvm);
    rm.setStatus(rvm, VM_STATUS.EXITED);
    rm.exited(rvm, EXIT_TYPE.VM_STOP_FORCED, 0, VM_EXIT_CODE.NORMAL);
  } else {
    rm.notify(rvm.vmid, RM_NOTIF.VM_SHUTDOWN, VmShutdownNotification.encode({ stopReason: req.stopReason }) as Uint8Array);
  }
  return RM_ERROR.OK;
}

/**
 * Owner only (VMID_INVALID). A READY VM's vCPUs are killed; the RESETTING transition must be valid (VM_STATE).
 * The reply goes first; then the VM's objects, link and accepted memory are torn down and it reaches RESET,
 * which its owner learns from VM_STATUS (R-MGNT vm_reset_callback).
 */
function reset({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid);
  if (rvm === undefined || rvm.owner !== client.vmid) return RM_ERROR.VMID_INVALID;
  if (rvm.status === VM_STATUS.READY) rm.killVcpus(rvm);
  if (!rm.setStatus(rvm, VM_STATUS.RESETTING)) return RM_ERROR.VM_STATE;
  queueMicrotask(() => {
    rm.teardown(rvm);
    rvm.osStatus = OS_STATUS.NONE;
    rvm.appStatus = 0;
    rm.setStatus(rvm, VM_STATUS.RESET);
  });
  return RM_ERROR.OK;
}

/**
 * A VM exits by itself (R-MGNT vm_mgnt_handle_exit): length 4, reserved byte 0 and a known exit code (else
 * MSG_INVALID). Its vCPUs are killed, it moves to EXITED and its owner gets VM_EXITED (VM_EXIT) with the flags
 * and code. The HLOS cannot exit: its end is the platform's, which the emulator does not model (DENIED).
 */
function exit({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmExitRequest.decode(payload);
  if (isRmError(req)) return req;
  if (client.vmid === VMID.HLOS) return RM_ERROR.DENIED;
  if (!stateChangeValid(client.status, VM_STATUS.EXITED)) return RM_ERROR.VM_STATE;
  rm.killVcpus(client);
  rm.setStatus(client, VM_STATUS.EXITED);
  rm.exited(client, EXIT_TYPE.VM_EXIT, req.exitFlags, req.exitCode);
  return RM_ERROR.OK;
}

export const vmLifecycleServices: ReadonlyMap<number, Service> = new Map([
  [RM_MSG.VM_START, start],
  [RM_MSG.VM_STOP, stop],
  [RM_MSG.VM_RESET, reset],
  [RM_MSG.VM_EXIT, exit],
]);
