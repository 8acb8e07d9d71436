// spec §10.1 (R-CONS vm_console_simple.c): one console per VM with two ends, the VM itself ("self", vmid 0 in a
// request) and its owner. Writes from one end reach the other as VM_CONSOLE_CHARS, immediately; when the other end
// is not open they are silently dropped and the writer still gets OK.
import { RM_ERROR, RM_MSG, RM_NOTIF } from '../../abi/rm.js';
import { VMID } from '../../abi/vmid.js';
import { isRmError, VmConsoleCharsNotification, VmConsoleWriteRequest, VmidRequest } from '../messages.js';
import type { ResourceManager, RpcRequest, Service, ServiceResult } from '../resource-manager.js';
import type { ConsoleEnd, RmVm } from '../rm-vm.js';

/**
 * The VM at a console's owner end. The HLOS is the owner of its own console, so what it writes to itself comes
 * back to it: the loop-back the Linux v1-v5 tty driver relies on (spec §10.2 ttyGH1, §15.15).
 */
export const consoleOwner = (rvm: RmVm): number => (rvm.vmid === VMID.HLOS ? VMID.HLOS : rvm.owner);

interface ConsoleTarget {
  readonly rvm: RmVm;
  /** The end the requester speaks for. */
  readonly end: ConsoleEnd;
}

/** vmid 0 = the requester's own console (self end); another VMID only for that VM's owner (owner end). */
function target(rm: ResourceManager, client: RmVm, vmid: number): ConsoleTarget | number {
  if (vmid === VMID.SELF) return client.vmid === VMID.RM ? RM_ERROR.ARGUMENT_INVALID : { rvm: client, end: 'self' };
  const rvm = rm.lookup(vmid);
  if (rvm === undefined || rvm.vmid === VMID.RM) return RM_ERROR.ARGUMENT_INVALID; // no console for that VM
  if (consoleOwner(rvm) !== client.vmid) return RM_ERROR.DENIED;
  return { rvm, end: 'owner' };
}

function openOrClose(open: boolean): Service {
  return ({ rm, client, payload }: RpcRequest): ServiceResult => {
    const req = VmidRequest.decode(payload);
    if (isRmError(req)) return req;
    const t = target(rm, client, req.vmid);
    if (typeof t === 'number') return t;
    if (t.rvm.console.isOpen(t.end) !== open) {
      t.rvm.console.set(t.end, open);
      rm.events.emit(open ? 'console-open' : 'console-close', { vmid: t.rvm.vmid, end: t.end });
    }
    return RM_ERROR.OK;
  };
}

/**
 * The writer's end must be open (DENIED). From self: to the owner with the writer's VMID; from the owner: to the
 * VM with vmid 0. The other end closed: dropped, OK.
 */
function write({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmConsoleWriteRequest.decode(payload);
  if (isRmError(req)) return req;
  const t = target(rm, client, req.vmid);
  if (typeof t === 'number') return t;
  const { rvm, end } = t;
  const cons = rvm.console;
  if (!cons.isOpen(end)) return RM_ERROR.DENIED;
  const n = req.bytes.length;
  if (!cons.isOpen(end === 'self' ? 'owner' : 'self')) {
    cons.bytesDropped += n;
    return RM_ERROR.OK;
  }
  const fromSelf = end === 'self';
  const chars = VmConsoleCharsNotification.encode({ vmid: fromSelf ? rvm.vmid : VMID.SELF, bytes: req.bytes });
  rm.notify(fromSelf ? consoleOwner(rvm) : rvm.vmid, RM_NOTIF.VM_CONSOLE_CHARS, chars as Uint8Array);
  if (fromSelf) cons.bytesOut += n;
  else cons.bytesIn += n;
  return RM_ERROR.OK;
}

/** Characters leave at once on write: a flush only checks that the requester's end is open. */
function flush({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const t = target(rm, client, req.vmid);
  if (typeof t === 'number') return t;
  return t.rvm.console.isOpen(t.end) ? RM_ERROR.OK : RM_ERROR.DENIED;
}

export const consoleServices: ReadonlyMap<number, Service> = new Map([
  [RM_MSG.VM_CONSOLE_OPEN, openOrClose(true)],
  [RM_MSG.VM_CONSOLE_CLOSE, openOrClose(false)],
  [RM_MSG.VM_CONSOLE_WRITE, write],
  [RM_MSG.VM_CONSOLE_FLUSH, flush],
]);
