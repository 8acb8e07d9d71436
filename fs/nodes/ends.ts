// Who is at each end of a message queue or doorbell, and acting as that VM. Gunyah keeps no "sender" or "receiver"
// field: an end is a VM holding a capability with the SEND or the RECEIVE right (spec §1.4). The creator of an
// object (the RM for RPC links and vdevices) keeps a master capability with every right; it counts as an end only
// when no other VM holds that end alone (the RM's side of its own links), so a vdevice between a VM and its owner
// shows those two, not the RM that made it.
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import type { HypercallName } from '../../core/abi/hypercalls.js';
import { right } from '../../core/abi/objects.js';
import { hvc } from '../../core/hyp/call.js';
import type { Cap } from '../../core/hyp/cspace.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { Doorbell } from '../../core/ipc/doorbell.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import type { Vcpu } from '../../core/vm/vcpu.js';
import type { Vm } from '../../core/vm/vm.js';
import { invalid, type FsError } from '../tree.js';

/** One end: a VM and the capability it would use. */
export interface End {
  readonly vm: Vm;
  readonly cap: Cap;
}

export interface Ends {
  /** Ascending by VMID, one per VM. */
  readonly send: readonly End[];
  readonly receive: readonly End[];
}

const byVmid = (a: End, b: End): number => a.vm.vmid - b.vm.vmid;

/** The sending and receiving VMs of a queue or doorbell now (one pass over every VM's cspace). */
export function endsOf(hyp: Hypervisor, object: Msgqueue | Doorbell): Ends {
  const send = right(object.type, 'send');
  const receive = right(object.type, 'receive');
  const sendOnly: End[] = [];
  const receiveOnly: End[] = [];
  const masters: End[] = [];
  for (const vm of hyp.vms.values()) {
    for (const cap of vm.cspace.caps()) {
      if (cap.object !== object || cap.revoked) continue;
      const s = (cap.rights & send) !== 0;
      const r = (cap.rights & receive) !== 0;
      const list = s && r ? masters : s ? sendOnly : r ? receiveOnly : null;
      // One end per VM: its first capability of that kind.
      if (list !== null && list.at(-1)?.vm !== vm) list.push({ vm, cap });
    }
  }
  return {
    send: (sendOnly.length > 0 ? sendOnly : masters).sort(byVmid),
    receive: (receiveOnly.length > 0 ? receiveOnly : masters).sort(byVmid),
  };
}

export const vmidsOf = (ends: readonly End[]): number[] => ends.map((e) => e.vm.vmid);

/** Runs fn with vcpu's registers and puts them back: a guest program running on that vCPU sees nothing. */
export function borrowRegisters<T>(vcpu: Vcpu, fn: () => T): T {
  const saved = vcpu.regs.slice();
  try {
    return fn();
  } finally {
    vcpu.regs.set(saved);
  }
}

/**
 * One hypercall made by `end`'s VM on its vCPU 0 with its capability as the first argument, as guest code would
 * make it (counted, rights checked). A GH error becomes EINVAL naming it.
 */
export function callAs(end: End, name: HypercallName, args: readonly bigint[]): FsError | undefined {
  const vcpu = end.vm.vcpus[0];
  if (vcpu === undefined) return invalid(`VM ${end.vm.vmid} has no vCPU to make ${name} on`);
  const r = borrowRegisters(vcpu, () => hvc(vcpu, name, [end.cap.cspace.capid(end.cap.slot), ...args]));
  return r.err === GH_ERROR.OK ? undefined : invalid(`${name} by VM ${end.vm.vmid} failed: ${ghErrorName(r.err)}`);
}
