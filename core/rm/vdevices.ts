// The virtual devices the RM gives a secondary VM with its owner at VM_INIT, as a VM configuration declaring a
// message-queue pair and a doorbell pair with the owner would (R-CFG vdevice msg-queue-pair / doorbell; there is
// no devicetree config in the emulator, so every secondary VM gets one of each, label 0). Both ends learn of them
// from VM_GET_HYP_RESOURCES (spec §9.6): each holder gets caps with exactly the rights its end needs and the
// vIRQs bound on its own vIC.
//
//   message queues  vm -> owner and owner -> vm (depth 16, 240 bytes): the sender holds SEND (MSG_QUEUE_SEND,
//                   vIRQ "tx ready"), the receiver RECEIVE (MSG_QUEUE_RECV, vIRQ "rx pending")
//   doorbells       one per direction: the ringer holds SEND (DOORBELL_SRC, no vIRQ), the rung side RECEIVE
//                   (DOORBELL, its vIRQ)
import { right } from '../abi/objects.js';
import { HYP_RESOURCE_TYPE, RM_RPC } from '../abi/rm.js';
import { encodeVirqInfo } from '../abi/virq.js';
import { RmHypercallError, type RmGuestInterface } from './guest-interface.js';
import type { HypResource } from './messages.js';
import type { RmVm } from './rm-vm.js';

export const VDEVICE_MSGQ = { DEPTH: 16, MAX_MSG_SIZE: RM_RPC.MESSAGE_SIZE } as const;
export const VDEVICE_LABEL = 0;

/** What one VM holds of a VM's vdevices: its resource entries. */
export type VdeviceResources = ReadonlyMap<number, readonly HypResource[]>;

export interface Vdevices {
  /** Resource entries by holder VMID (the VM and its owner). */
  readonly resources: VdeviceResources;
  /** Every cap made (masters in the RM's cspace, copies in the holders'), for teardown. */
  readonly caps: readonly { readonly cspace: bigint; readonly cap: bigint }[];
  /** vIRQ numbers taken, to give back to each holder's allocator. */
  readonly virqs: readonly { readonly holder: RmVm; readonly virq: number }[];
}

/** One end's view of a resource, as VM_GET_HYP_RESOURCES lists it. */
const entry = (type: number, partnerVmid: number, capid: bigint, virq: number): HypResource => ({
  type, partnerVmid, resourceHandle: 0, resourceLabel: VDEVICE_LABEL, capid, virqHandle: 0, virq, base: 0n, size: 0n,
});

class Builder {
  readonly caps: { cspace: bigint; cap: bigint }[] = [];
  readonly virqs: { holder: RmVm; virq: number }[] = [];
  readonly resources = new Map<number, HypResource[]>();

  constructor(private readonly gi: RmGuestInterface, private readonly rmCspace: bigint) {}

  master(cap: bigint | RmHypercallError): bigint {
    if (cap instanceof RmHypercallError) throw cap;
    this.caps.push({ cspace: this.rmCspace, cap });
    return cap;
  }

  /** A copy of `master` with `rights` in the holder's cspace. */
  grant(master: bigint, holder: RmVm, rights: number): bigint {
    const into = holder.caps!.cspace;
    const cap = this.gi.copyCap(this.rmCspace, master, into, rights);
    if (cap instanceof RmHypercallError) throw cap;
    this.caps.push({ cspace: into, cap });
    return cap;
  }

  /** Bind one end of `source` to a new vIRQ on the holder's vIC. */
  bind(call: 'msgqueue_bind_send_virq' | 'msgqueue_bind_receive_virq' | 'doorbell_bind_virq', source: bigint, holder: RmVm): number {
    const virq = holder.virqs!.alloc();
    if (virq === null) throw new RmHypercallError(call, -1);
    this.virqs.push({ holder, virq });
    const err = this.gi.call(call, [source, holder.caps!.vic, encodeVirqInfo(virq), 0]);
    if (err !== null) throw err;
    return virq;
  }

  add(holder: RmVm, resource: HypResource): void {
    const list = this.resources.get(holder.vmid) ?? [];
    list.push(resource);
    this.resources.set(holder.vmid, list);
  }
}

/** Build the queue pair and doorbell pair between `vm` and `owner` (both built, with caps and vIRQ allocators). */
export function createVdevices(gi: RmGuestInterface, rm: { partition: bigint; cspace: bigint }, vm: RmVm, owner: RmVm): Vdevices | RmHypercallError {
  const b = new Builder(gi, rm.cspace);
  try {
    for (const [from, to] of [[vm, owner], [owner, vm]] as const) {
      const q = b.master(gi.msgqueue(rm.partition, rm.cspace, VDEVICE_MSGQ.DEPTH, VDEVICE_MSGQ.MAX_MSG_SIZE));
      const txVirq = b.bind('msgqueue_bind_send_virq', q, from);
      const rxVirq = b.bind('msgqueue_bind_receive_virq', q, to);
      b.add(from, entry(HYP_RESOURCE_TYPE.MSG_QUEUE_SEND, to.vmid, b.grant(q, from, right('msgqueue', 'send')), txVirq));
      b.add(to, entry(HYP_RESOURCE_TYPE.MSG_QUEUE_RECV, from.vmid, b.grant(q, to, right('msgqueue', 'receive')), rxVirq));
    }
    for (const [ringer, rung] of [[vm, owner], [owner, vm]] as const) {
      const db = b.master(gi.value('partition_create_doorbell', [rm.partition, rm.cspace, 0]));
      const err = gi.call('object_activate', [db, 0]);
      if (err !== null) throw err;
      const virq = b.bind('doorbell_bind_virq', db, rung);
      b.add(ringer, entry(HYP_RESOURCE_TYPE.DOORBELL_SRC, rung.vmid, b.grant(db, ringer, right('doorbell', 'send')), 0));
      b.add(rung, entry(HYP_RESOURCE_TYPE.DOORBELL, ringer.vmid, b.grant(db, rung, right('doorbell', 'receive')), virq));
    }
  } catch (err) {
    const made: Vdevices = { resources: b.resources, caps: b.caps, virqs: b.virqs };
    destroyVdevices(gi, made);
    if (err instanceof RmHypercallError) return err;
    throw err;
  }
  return { resources: b.resources, caps: b.caps, virqs: b.virqs };
}

/** Delete every cap (copies first, so the objects go with the masters) and give the vIRQ numbers back. */
export function destroyVdevices(gi: RmGuestInterface, v: Vdevices): void {
  for (const { cspace, cap } of [...v.caps].reverse()) gi.deleteCap(cspace, cap);
  for (const { holder, virq } of v.virqs) holder.virqs?.release(virq);
}
