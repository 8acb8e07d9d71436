// Read-only JSON views of a VM's capabilities and of the message queues and doorbells they name. Gunyah has no
// hypercall that lists a cspace, so these read the core's objects directly; they never change anything.
import { GH_ERROR } from '../core/abi/errors.js';
import { OBJECT_STATE_NAMES, right, rightNames, type ObjectType } from '../core/abi/objects.js';
import type { Cap, CSpace } from '../core/hyp/cspace.js';
import type { Hypervisor } from '../core/hyp/hypervisor.js';
import type { Doorbell } from '../core/ipc/doorbell.js';
import type { Msgqueue } from '../core/ipc/msgqueue.js';
import type { Addrspace } from '../core/mem/addrspace.js';
import type { Vcpu } from '../core/vm/vcpu.js';
import type { VirqSource } from '../core/vm/vic.js';
import type { Vm } from '../core/vm/vm.js';
import { hex32, hex64, words } from './hex.js';
import { ApiError } from './problem.js';

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

export interface Ends {
  /** VMs holding a capability with the SEND right, ascending. */
  send: number[];
  /** VMs holding a capability with the RECEIVE right, ascending. */
  receive: number[];
}

/** The VMs at both ends of a message queue or doorbell: the VMs holding its capabilities, with their rights. */
export function ends(hyp: Hypervisor, object: Msgqueue | Doorbell): Ends {
  const sendRight = right(object.type, 'send');
  const receiveRight = right(object.type, 'receive');
  const send: number[] = [];
  const receive: number[] = [];
  for (const cap of object.heldBy) {
    const vmid = cap.cspace.vmid;
    if (cap.revoked || hyp.vms.get(vmid)?.cspace !== cap.cspace) continue; // only VMs' own cspaces count
    if (cap.rights & sendRight) insertVmid(send, vmid);
    if (cap.rights & receiveRight) insertVmid(receive, vmid);
  }
  return { send, receive };
}

/** Insert into an ascending list without duplicates. An object is held by a VM or two: arrays, not sets and a sort. */
function insertVmid(list: number[], vmid: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > vmid) i--;
  if (list[i - 1] !== vmid) list.splice(i, 0, vmid);
}

/** rightNames, computed once per type and mask (a handful of combinations ever occur). */
const rightNamesCache = new Map<string, string[]>();
function namesOf(type: ObjectType, mask: number): string[] {
  const key = `${type}:${mask}`;
  let names = rightNamesCache.get(key);
  if (names === undefined) rightNamesCache.set(key, (names = rightNames(type, mask)));
  return names;
}

/** The capability at `capid` in the VM's cspace, of `type` when given; GH errors as problems (404 for most). */
export function capAt(vm: Vm, capid: bigint, type: ObjectType | null = null): Cap {
  const [lo, hi] = words(capid);
  const cap = vm.cspace.capAt(lo, hi);
  const err = typeof cap === 'number' ? cap : type !== null && cap.object.type !== type ? GH_ERROR.CSPACE_WRONG_OBJECT_TYPE : GH_ERROR.OK;
  if (err !== GH_ERROR.OK) {
    throw ApiError.gh(err, `VM ${vm.vmid} holds no ${type ?? 'capability'} at capid ${hex64(capid)}`, { field: '/params/capid' });
  }
  return cap as Cap;
}

/** The caps of one type in a VM's cspace, in slot order. */
export function capsOfType(vm: Vm, type: ObjectType): Cap[] {
  return [...vm.cspace.caps()].filter((cap) => cap.object.type === type && !cap.revoked);
}

export function capabilityView(cap: Cap, hyp: Hypervisor): CapabilityView {
  const o = cap.object;
  const view: CapabilityView = {
    capid: hex64(cap.cspace.capid(cap.slot)),
    type: capabilityTypeName(o.type),
    rights: namesOf(o.type, cap.rights),
    rights_mask: hex32(cap.rights),
    object_id: o.id,
    object_state: OBJECT_STATE_NAMES[o.state],
    revoked: cap.revoked,
  };
  switch (o.type) {
    case 'msgqueue':
    case 'doorbell': {
      const { send, receive } = ends(hyp, o as Msgqueue | Doorbell);
      view.send_vmids = send;
      view.receive_vmids = receive;
      break;
    }
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
      for (const vm of hyp.vms.values()) if (vm.vic === o) view.vmid = vm.vmid;
      break;
  }
  return view;
}

function virqView(s: VirqSource, hyp: Hypervisor): VirqView {
  if (!s.bound) return { bound: false };
  for (const vm of hyp.vms.values()) if (vm.vic === s.vic) return { bound: true, virq: s.virq, vmid: vm.vmid };
  return { bound: true, virq: s.virq };
}

export function msgqueueView(cap: Cap, hyp: Hypervisor): MsgqueueView {
  const q = cap.object as Msgqueue;
  const { send, receive } = ends(hyp, q);
  return {
    capid: hex64(cap.cspace.capid(cap.slot)),
    object_id: q.id,
    rights: namesOf('msgqueue', cap.rights),
    state: OBJECT_STATE_NAMES[q.state],
    depth: q.depth,
    max_msg_size: q.maxMsgSize,
    count: q.count,
    notfull_threshold: q.notfullThd,
    notempty_threshold: q.notemptyThd,
    send_vmids: send,
    receive_vmids: receive,
    send_virq: virqView(q.sendVirq, hyp),
    receive_virq: virqView(q.receiveVirq, hyp),
    counters: {
      sent: q.sent, received: q.received, bytes_sent: q.bytesSent, bytes_received: q.bytesReceived,
      full_events: q.fullEvents, full_rejects: q.fullRejects, flushes: q.flushes,
    },
  };
}

export function doorbellView(cap: Cap, hyp: Hypervisor): DoorbellView {
  const db = cap.object as Doorbell;
  const { send, receive } = ends(hyp, db);
  return {
    capid: hex64(cap.cspace.capid(cap.slot)),
    object_id: db.id,
    rights: namesOf('doorbell', cap.rights),
    state: OBJECT_STATE_NAMES[db.state],
    flags: hex64(db.flags),
    enable_mask: hex64(db.enableMask),
    ack_mask: hex64(db.ackMask),
    send_vmids: send,
    receive_vmids: receive,
    virq: virqView(db.virq, hyp),
    counters: { sends: db.sends, receives: db.receives, asserts: db.asserts },
  };
}
