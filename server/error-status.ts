// The one place where core error codes become HTTP statuses. A Gunyah error (spec §3.1) or an RM error (spec §3.3)
// keeps its spec name as the problem's `code`; only the status is chosen here.
import { GH_ERROR, ghErrorName } from '../core/abi/errors.js';
import { RM_ERROR, rmErrorName } from '../core/abi/rm.js';

const GH_STATUS = new Map<number, number>([
  // The caller's arguments are wrong.
  [GH_ERROR.ARGUMENT_INVALID, 400],
  [GH_ERROR.ARGUMENT_ALIGNMENT, 400],
  [GH_ERROR.ADDR_INVALID, 400],
  [GH_ERROR.ADDR_OVERFLOW, 400],
  [GH_ERROR.ADDR_UNDERFLOW, 400],
  // Only msgqueue_send reaches REST with ARGUMENT_SIZE: a message above the queue's max_msg_size (spec §4.3).
  [GH_ERROR.ARGUMENT_SIZE, 413],
  // The capability does not exist, or names another kind of object: the resource is not there.
  [GH_ERROR.CSPACE_CAP_NULL, 404],
  [GH_ERROR.CSPACE_CAP_REVOKED, 404],
  [GH_ERROR.CSPACE_WRONG_OBJECT_TYPE, 404],
  // The VM's capability lacks the right (spec §1.4): the VM may not do this.
  [GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS, 403],
  [GH_ERROR.DENIED, 403],
  // The object's current state refuses the operation; it may succeed later.
  [GH_ERROR.OBJECT_STATE, 409],
  [GH_ERROR.OBJECT_CONFIG, 409],
  [GH_ERROR.OBJECT_CONFIGURED, 409],
  [GH_ERROR.BUSY, 409],
  [GH_ERROR.IDLE, 409],
  [GH_ERROR.MSGQUEUE_EMPTY, 409],
  [GH_ERROR.MSGQUEUE_FULL, 409],
  [GH_ERROR.VIRQ_BOUND, 409],
  [GH_ERROR.VIRQ_NOT_BOUND, 409],
  [GH_ERROR.CSPACE_FULL, 409],
  [GH_ERROR.NOMEM, 409],
  [GH_ERROR.NORESOURCES, 409],
  [GH_ERROR.UNIMPLEMENTED, 501],
  [GH_ERROR.RETRY, 503],
]);

const RM_STATUS = new Map<number, number>([
  [RM_ERROR.ARGUMENT_INVALID, 400],
  [RM_ERROR.MSG_INVALID, 400],
  [RM_ERROR.VALIDATE_FAILED, 400],
  [RM_ERROR.MEM_INVALID, 400],
  [RM_ERROR.IRQ_INVALID, 400],
  [RM_ERROR.VMID_INVALID, 404],
  [RM_ERROR.HANDLE_INVALID, 404],
  [RM_ERROR.LOOKUP_FAILED, 404],
  [RM_ERROR.DENIED, 403],
  [RM_ERROR.VM_STATE, 409],
  [RM_ERROR.BUSY, 409],
  [RM_ERROR.IN_USE, 409],
  [RM_ERROR.MEM_INUSE, 409],
  [RM_ERROR.MEM_RELEASED, 409],
  [RM_ERROR.IRQ_INUSE, 409],
  [RM_ERROR.IRQ_RELEASED, 409],
  [RM_ERROR.IRQ_NOT_MAPPED, 409],
  [RM_ERROR.NOMEM, 409],
  [RM_ERROR.NORESOURCE, 409],
  [RM_ERROR.UNIMPLEMENTED, 501],
]);

export interface CoreErrorStatus {
  /** The spec name: `ERROR_CSPACE_CAP_NULL`, `RM_ERROR_VM_STATE`. */
  readonly code: string;
  readonly status: number;
}

/** A Gunyah hypercall error (never OK) as an HTTP status; FAILURE and unknown codes are the server's fault. */
export function ghErrorStatus(err: number): CoreErrorStatus {
  return { code: ghErrorName(err), status: GH_STATUS.get(err) ?? 500 };
}

/** An RM reply error (never OK) as an HTTP status; MAP_FAILED and unknown codes are the server's fault. */
export function rmErrorStatus(err: number): CoreErrorStatus {
  return { code: rmErrorName(err), status: RM_STATUS.get(err >>> 0) ?? 500 };
}
