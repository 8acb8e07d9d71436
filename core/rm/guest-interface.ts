// The RM's own hypercalls (R-GI guest_interface.c): the RM is a VM, and everything it does to other VMs' objects
// goes through the hypercall entry point on its vCPU, with capids of its own cspace. Used for setup and teardown
// (allocating; the RPC hot path uses MsgqPort's register-level calls).
import { GH_ERROR, ghErrorName, type GhError } from '../abi/errors.js';
import type { HypercallName } from '../abi/hypercalls.js';
import { MSGQ_CREATE_INFO } from '../abi/ipc.js';
import { hvc } from '../hyp/call.js';
import type { Vcpu } from '../vm/vcpu.js';

/** A failed RM hypercall: which call and the GH error it returned (kept for logs and tests). */
export class RmHypercallError {
  constructor(readonly call: HypercallName, readonly err: GhError) {}

  get message(): string {
    return `${this.call}: ${ghErrorName(this.err)}`;
  }
}

export class RmGuestInterface {
  constructor(readonly vcpu: Vcpu) {}

  /** A call whose only result is the error word. */
  call(name: HypercallName, args: readonly (bigint | number)[]): RmHypercallError | null {
    const r = hvc(this.vcpu, name, args);
    return r.err === GH_ERROR.OK ? null : new RmHypercallError(name, r.err as GhError);
  }

  /** A call returning a value in X1 (a new capid). */
  value(name: HypercallName, args: readonly (bigint | number)[]): bigint | RmHypercallError {
    const r = hvc(this.vcpu, name, args);
    return r.err === GH_ERROR.OK ? r.x[1]! : new RmHypercallError(name, r.err as GhError);
  }

  /** partition_create_msgqueue + msgqueue_configure + object_activate (spec §4.2). */
  msgqueue(partition: bigint, cspace: bigint, depth: number, maxMsgSize: number): bigint | RmHypercallError {
    const q = this.value('partition_create_msgqueue', [partition, cspace, 0]);
    if (q instanceof RmHypercallError) return q;
    const info = depth | (maxMsgSize << MSGQ_CREATE_INFO.MAX_SIZE_SHIFT);
    const err = this.call('msgqueue_configure', [q, info, 0]) ?? this.call('object_activate', [q, 0]);
    if (err !== null) {
      this.call('cspace_delete_cap_from', [cspace, q, 0]);
      return err;
    }
    return q;
  }

  /** cspace_copy_cap_from: a copy of `cap` with `rights` in another cspace; returns its capid there. */
  copyCap(fromCspace: bigint, cap: bigint, toCspace: bigint, rights: number): bigint | RmHypercallError {
    return this.value('cspace_copy_cap_from', [fromCspace, cap, toCspace, rights, 0]);
  }

  deleteCap(cspace: bigint, cap: bigint): void {
    this.call('cspace_delete_cap_from', [cspace, cap, 0]);
  }
}
