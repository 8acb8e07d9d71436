// Read-only JSON views of a VM's capabilities and of the message queues and doorbells they name. Gunyah has no
// hypercall that lists a cspace, so these read the core's objects directly; they never change anything.
import { OBJECT_STATE_NAMES, right, rightNames, type ObjectType } from '../core/abi/objects.js';
import type { Cap } from '../core/hyp/cspace.js';
import type { Hypervisor } from '../core/hyp/hypervisor.js';
import type { HypObject } from '../core/hyp/object.js';
import type { Doorbell } from '../core/ipc/doorbell.js';
import type { Msgqueue } from '../core/ipc/msgqueue.js';
import type { Addrspace } from '../core/mem/addrspace.js';
import type { Vcpu } from '../core/vm/vcpu.js';
import type { VirqSource } from '../core/vm/vic.js';
import type { CSpace } from '../core/hyp/cspace.js';
import type { Vm } from '../core/vm/vm.js';
import { ApiError } from './problem.js';
import { hex32, hex64 } from './hex.js';

/** spec §1.4 names the thread object "vCPU"; every other type keeps its own name. */
export const capabilityTypeName = (type: ObjectType): string => (type === 'thread' ? 'vcpu' : type);

export interface CapabilityView {
  capid: string;
  type: string;
  rights: string[];
  rights_mask: string;
  object_id: number;
  object_state: string;
  revoked: boolean;
  vmid?: number;
  vcpu_index?: number;
  send_vmids?: number[];
  receive_vmids?: number[];
}

export interface VirqView {
  bound: boolean;
  virq?: number;
  /** The VM whose vIC the source is bound to. */
  vmid?: number;
}

export interface MsgqueueView {
  capid: string;
  object_id: number;
  rights: string[];
  state: string;
  depth: number;
  max_msg_size: number;
  count: number;
  notfull_threshold: number;
  notempty_threshold: number;
  send_vmids: number[];
  receive_vmids: number[];
  send_virq: VirqView;
  receive_virq: VirqView;
  counters: {
    sent: number; received: number; bytes_sent: number; bytes_received: number; full_events: number;
    full_rejects: number; flushes: number;
  };
}

export interface DoorbellView {
  capid: string;
  object_id: number;
  rights: string[];
  state: string;
  flags: string;
  enable_mask: string;
  ack_mask: string;
  send_vmids: number[];
  receive_vmids: number[];
  virq: VirqView;
  counters: { sends: number; receives: number; asserts: number };
}

/** Who holds capabilities to what, across every VM's cspace: one pass per request. */
export class CapHolders {
  private readonly byObject = new Map<HypObject, Cap[]>();

  constructor(readonly hyp: Hypervisor) {
    for (const vm of hyp.vms.values()) {
      for (const cap of vm.cspace.caps()) {
        if (cap.revoked) continue;
        const list = this.byObject.get(cap.object);
        if (list === undefined) this.byObject.set(cap.object, [cap]);
        else list.push(cap);
      }
    }
  }

  /** VMIDs whose cspaces hold a capability to `object` with every bit of `mask`, ascending. */
  vmidsWith(object: HypObject, mask: number): number[] {
    const vmids = new Set<number>();
    for (const cap of this.byObject.get(object) ?? []) if ((cap.rights & mask) === mask) vmids.add(cap.cspace.vmid);
    return [...vmids].sort((a, b) => a - b);
  }
}

const split = (capid: bigint): [number, number] => [Number(capid & 0xffffffffn), Number(capid >> 32n)];

/** The capability at `capid` in the VM's cspace, of `type` when given; GH errors as problems (404 for most). */
export function capAt(vm: Vm, capid: bigint, type: ObjectType | null = null): Cap {
  const [lo, hi] = split(capid);
  const found = vm.cspace.lookup(lo, hi, type, 0, false);
  if (typeof found === 'number') {
    throw ApiError.gh(found, `VM ${vm.vmid} holds no ${type ?? 'capability'} at capid ${hex64(capid)}`, { field: '/params/capid' });
  }
  return vm.cspace.capAt(lo, hi) as Cap;
}

/** The caps of one type in a VM's cspace, in slot order. */
export function capsOfType(vm: Vm, type: ObjectType): Cap[] {
  return [...vm.cspace.caps()].filter((cap) => cap.object.type === type && !cap.revoked);
}

export function capabilityView(cap: Cap, holders: CapHolders): CapabilityView {
  const o = cap.object;
  const view: CapabilityView = {
    capid: hex64(cap.cspace.capid(cap.slot)),
    type: capabilityTypeName(o.type),
    rights: rightNames(o.type, cap.rights),
    rights_mask: hex32(cap.rights),
    object_id: o.id,
    object_state: OBJECT_STATE_NAMES[o.state],
    revoked: cap.revoked,
  };
  switch (o.type) {
    case 'msgqueue':
    case 'doorbell':
      view.send_vmids = holders.vmidsWith(o, right(o.type, 'send'));
      view.receive_vmids = holders.vmidsWith(o, right(o.type, 'receive'));
      break;
    case 'thread': {
      const vcpu = o as Vcpu;
      if (vcpu.vm !== null) view.vmid = vcpu.vm.vmid;
      view.vcpu_index = vcpu.index;
      break;
    }
    case 'cspace':
      if ((o as CSpace).vmid >= 0) view.vmid = (o as CSpace).vmid;
      break;
    case 'addrspace':
      view.vmid = (o as Addrspace).vmid;
      break;
    case 'vic':
      for (const vm of holders.hyp.vms.values()) if (vm.vic === o) view.vmid = vm.vmid;
      break;
  }
  return view;
}

function virqView(s: VirqSource, hyp: Hypervisor): VirqView {
  if (!s.bound) return { bound: false };
  for (const vm of hyp.vms.values()) if (vm.vic === s.vic) return { bound: true, virq: s.virq, vmid: vm.vmid };
  return { bound: true, virq: s.virq };
}

export function msgqueueView(cap: Cap, holders: CapHolders): MsgqueueView {
  const q = cap.object as Msgqueue;
  return {
    capid: hex64(cap.cspace.capid(cap.slot)),
    object_id: q.id,
    rights: rightNames('msgqueue', cap.rights),
    state: OBJECT_STATE_NAMES[q.state],
    depth: q.depth,
    max_msg_size: q.maxMsgSize,
    count: q.count,
    notfull_threshold: q.notfullThd,
    notempty_threshold: q.notemptyThd,
    send_vmids: holders.vmidsWith(q, right('msgqueue', 'send')),
    receive_vmids: holders.vmidsWith(q, right('msgqueue', 'receive')),
    send_virq: virqView(q.sendVirq, holders.hyp),
    receive_virq: virqView(q.receiveVirq, holders.hyp),
    counters: {
      sent: q.sent, received: q.received, bytes_sent: q.bytesSent, bytes_received: q.bytesReceived,
      full_events: q.fullEvents, full_rejects: q.fullRejects, flushes: q.flushes,
    },
  };
}

export function doorbellView(cap: Cap, holders: CapHolders): DoorbellView {
  const db = cap.object as Doorbell;
  return {
    capid: hex64(cap.cspace.capid(cap.slot)),
    object_id: db.id,
    rights: rightNames('doorbell', cap.rights),
    state: OBJECT_STATE_NAMES[db.state],
    flags: hex64(db.flags),
    enable_mask: hex64(db.enableMask),
    ack_mask: hex64(db.ackMask),
    send_vmids: holders.vmidsWith(db, right('doorbell', 'send')),
    receive_vmids: holders.vmidsWith(db, right('doorbell', 'receive')),
    virq: virqView(db.virq, holders.hyp),
    counters: { sends: db.sends, receives: db.receives, asserts: db.asserts },
  };
}
