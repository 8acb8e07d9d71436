// VM management queries and bookkeeping (spec §9.4-§9.5, R-MGNT): VM_ALLOCATE, VM_DEALLOCATE, VM_GET_STATE,
// VM_GET_VMID, VM_HOST_GET_TYPE, VM_SET_STATUS.
import { OS_STATUS, RM_ERROR, RM_HOST_TYPE, RM_MSG, VM_STATUS, type OsStatus } from '../../abi/rm.js';
import { VMID } from '../../abi/vmid.js';
import {
  EmptyPayload, isRmError, VmAllocateReply, VmGetStateReply, VmGetVmidReply, VmHostGetTypeReply, VmidRequest,
  VmSetStatusRequest,
} from '../messages.js';
import type { RpcRequest, Service, ServiceResult } from '../resource-manager.js';

const VALID_OS_STATUS: ReadonlySet<number> = new Set(Object.values(OS_STATUS));

/** HLOS only (else DENIED). vmid 0 takes the lowest free dynamic VMID and replies it as u32; a fixed one no data. */
function allocate({ rm, client, payload }: RpcRequest): ServiceResult {
  if (client.vmid !== VMID.HLOS) return RM_ERROR.DENIED;
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const dynamic = req.vmid === 0;
  const vmid = dynamic ? rm.vmids.takeDynamic() : rm.vmids.takeFixed(req.vmid) ? req.vmid : null;
  if (vmid === null) return RM_ERROR.NORESOURCE;
  const rvm = rm.adopt(vmid, client.vmid, `vm${vmid}`);
  rm.setStatus(rvm, VM_STATUS.LOAD, false); // R-MGNT vm_mgnt_new_vm: a new VM starts in LOAD, unannounced
  rm.events.emit('vm-allocated', { vmid, owner: client.vmid });
  return VmAllocateReply.encode({ vmid: dynamic ? vmid : null }) as Uint8Array;
}

/** Owner only (DENIED); the VM must be in LOAD (never configured) or RESET, else VM_STATE. */
function deallocate({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid);
  if (rvm === undefined) return RM_ERROR.VMID_INVALID;
  if (rvm.owner !== client.vmid) return RM_ERROR.DENIED;
  if (rvm.status !== VM_STATUS.LOAD && rvm.status !== VM_STATUS.RESET) return RM_ERROR.VM_STATE;
  rm.forget(rvm);
  rm.vmids.release(rvm.vmid);
  rm.events.emit('vm-deallocated', { vmid: rvm.vmid });
  return RM_ERROR.OK;
}

/** vmid 0 = self. Unknown VMID: NORESOURCE; only the VM, its owner and its peers may ask (DENIED). */
function getState({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid === VMID.SELF ? client.vmid : req.vmid);
  if (rvm === undefined) return RM_ERROR.NORESOURCE;
  if (!rm.mayQuery(client, rvm)) return RM_ERROR.DENIED;
  return VmGetStateReply.encode({ vmStatus: rvm.status, osStatus: rvm.osStatus, appStatus: rvm.appStatus }) as Uint8Array;
}

function getVmid({ client, payload }: RpcRequest): ServiceResult {
  const req = EmptyPayload.decode(payload);
  if (isRmError(req)) return req;
  return VmGetVmidReply.encode({ vmid: client.vmid }) as Uint8Array;
}

function hostGetType({ payload }: RpcRequest): ServiceResult {
  const req = EmptyPayload.decode(payload);
  if (isRmError(req)) return req;
  return VmHostGetTypeReply.encode({ hostType: RM_HOST_TYPE }) as Uint8Array;
}

/**
 * Secondary VMs only (DENIED for the HLOS): os_status 0 keeps the current one, 1-7 set it, anything else is
 * ARGUMENT_INVALID; app_status is taken as given. VM_STATUS goes to the VM's peers.
 */
function setStatus({ rm, client, payload }: RpcRequest): ServiceResult {
  if (client.vmid === VMID.HLOS || client.vmid === VMID.RM) return RM_ERROR.DENIED;
  const req = VmSetStatusRequest.decode(payload);
  if (isRmError(req)) return req;
  if (!VALID_OS_STATUS.has(req.osStatus)) return RM_ERROR.ARGUMENT_INVALID;
  const osStatus = req.osStatus === OS_STATUS.NONE ? client.osStatus : (req.osStatus as OsStatus);
  rm.setOsStatus(client, osStatus, req.appStatus);
  return RM_ERROR.OK;
}

export const vmMgntServices: ReadonlyMap<number, Service> = new Map([
  [RM_MSG.VM_ALLOCATE, allocate],
  [RM_MSG.VM_DEALLOCATE, deallocate],
  [RM_MSG.VM_GET_STATE, getState],
  [RM_MSG.VM_GET_VMID, getVmid],
  [RM_MSG.VM_HOST_GET_TYPE, hostGetType],
  [RM_MSG.VM_SET_STATUS, setStatus],
]);
