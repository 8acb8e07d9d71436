// Restoring a snapshot (capture.ts) into a freshly booted device: the VMs are recreated through the HLOS over RM RPC
// (vm-definitions.ts), and while each one is being built, before any of its vCPUs runs, what the snapshot held of
// it is put back:
//   - its console log, at the moment it is allocated: the same bytes at the same absolute offsets, so a reader
//     resuming at an offset it had finds its place; output the VM writes afterwards follows on from the saved end;
//   - the messages of each of its vdevice queues, when the RM has built them (VM_INIT, status READY): re-enqueued in
//     order into the queue with the same key (VM, direction, label), so the receiver gets each one exactly once,
//     in the order it was sent; the queue's receive vIRQ is raised as the send that queued them raised it;
//   - each doorbell's enable and ack masks, then its flags (a ring of the saved flags; its vIRQ as a ring raises it);
//   - counters, so that a user comparing before and after sees the same numbers: per queue sent, received, bytes
//     sent and received, full events, full rejects, flushes; per doorbell sends, receives, asserts; per console
//     bytes out and in (the console hub's, the HLOS's and the RM's, which /metrics shows).
//
// NOT restored (the README lists this):
//   - guest program state: vCPU registers, guest memory contents, anything an image keeps in its variables. Images
//     restart from their entry point (boot banner again, traffic's own counts from zero) and must tolerate finding
//     messages already queued and doorbell flags already set (the built-in images drain at set-up);
//   - RM state in flight: RPCs and notifications queued on RM links, fragments half reassembled, memory parcels
//     beyond the one each VM's bring-up lends, console input accepted but not yet written to the RM;
//   - queues and doorbells other than the vdevices between each VM and its owner (objects a client built with raw
//     hypercalls through the API), queue thresholds (back to the vdevice defaults; images set their own again),
//     vIRQ delivery state other than what re-enqueueing and ringing raise;
//   - the queues and doorbells of a stopped VM: it comes back allocated and not started (status `load`), with no
//     hypervisor objects, as after VM_RESET; what they held is reported as not restored;
//   - process-wide counters: hypercall counts, RM RPC statistics, HTTP and event-stream counters, the HLOS traffic
//     sinks' counts, event ids. They start from zero as in any new process (Prometheus counts that as a reset).
import { GH_ERROR, ghErrorName } from '../abi/errors.js';
import { PAGE_SIZE } from '../abi/memory.js';
import { VMID } from '../abi/vmid.js';
import type { ConsoleHub } from '../hlos/console-hub.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import type { Doorbell } from '../ipc/doorbell.js';
import type { Msgqueue } from '../ipc/msgqueue.js';
import { GuestMemory } from '../mem/guest-memory.js';
import { summarize, type SnapshotSummary } from './capture.js';
import type { DoorbellState, MsgqState, SnapshotState, VdeviceKey, VmDefinition } from './format.js';
import { PersistError } from './format.js';
import { vdeviceObjects } from './vdevice-objects.js';
import { recreateVms, type Emulator, type Recreated } from './vm-definitions.js';

export interface RestoreTarget extends Emulator {
  readonly hyp: Hypervisor;
  /** Where console logs go back to; without a hub they are reported as not restored. */
  readonly consoles?: ConsoleHub | null;
}

export interface RestoreReport {
  readonly vms: readonly Recreated[];
  /** What was put back, in the snapshot summary's terms. */
  readonly restored: SnapshotSummary;
  /** Everything the snapshot held that did not come back, one sentence each. */
  readonly warnings: readonly string[];
}

const sameEnd = (a: VdeviceKey, b: VdeviceKey) => a.direction === b.direction && a.label === b.label;

/** Recreate the snapshot's VMs and put back their queues, doorbells and consoles. */
export async function restoreSnapshot(target: RestoreTarget, snap: SnapshotState, source: string): Promise<RestoreReport | PersistError> {
  const warnings: string[] = [];
  // A page to stage messages in: Msgqueue.send copies from guest memory, as msgqueue_send does.
  const staging = new GuestMemory();
  staging.addRam(0, PAGE_SIZE);
  const done = { msgqs: [] as MsgqState[], doorbells: [] as DoorbellState[], consoles: 0, consoleBytes: 0 };

  const putConsole = (def: VmDefinition, vmid: number) => {
    const saved = snap.consoles.find((c) => c.vmid === def.vmid);
    if (saved === undefined) return;
    const bytes = Buffer.from(saved.data, 'base64');
    const hub = target.consoles;
    if (!hub) return void warnings.push(`VM ${def.name}: console log (${bytes.length} bytes) not restored: the daemon serves no consoles`);
    const err = hub.restore(vmid, { start: saved.start, bytes, bytesOut: saved.bytes_out, bytesIn: saved.bytes_in });
    if (err !== null) return void warnings.push(`VM ${def.name}: console log not restored: ${err.detail}`);
    const rmConsole = target.rm.lookup(vmid)?.console;
    if (rmConsole) {
      rmConsole.bytesOut = saved.bytes_out;
      rmConsole.bytesIn = saved.bytes_in;
    }
    target.hlos.consoles.set(vmid, { out: saved.bytes_out, in: saved.bytes_in });
    done.consoles++;
    done.consoleBytes += bytes.length;
  };

  const putVdevices = (def: VmDefinition, vmid: number) => {
    const resources = target.rm.lookup(vmid)?.vdevices?.resources.get(VMID.HLOS) ?? [];
    const objects = vdeviceObjects(target.hyp, vmid, resources);
    for (const saved of snap.msgqs.filter((q) => q.vmid === def.vmid)) {
      const q = objects.msgqs.find((o) => sameEnd(o.key, saved))?.q;
      const why = q === undefined ? 'the recreated VM has no such queue' : refill(q, saved, staging);
      if (why === null) done.msgqs.push(saved);
      else warnings.push(`VM ${def.name}: ${saved.direction} queue label ${saved.label}: ${saved.messages.length} messages not restored: ${why}`);
    }
    for (const saved of snap.doorbells.filter((d) => d.vmid === def.vmid)) {
      const db = objects.doorbells.find((o) => sameEnd(o.key, saved))?.db;
      const why = db === undefined ? 'the recreated VM has no such doorbell' : ring(db, saved);
      if (why === null) done.doorbells.push(saved);
      else warnings.push(`VM ${def.name}: ${saved.direction} doorbell label ${saved.label}: flags ${saved.flags} not restored: ${why}`);
    }
  };

  const recreated = await recreateVms(target, snap.vms, source, { allocated: putConsole, ready: putVdevices });
  if (recreated instanceof PersistError) return recreated;
  warnings.push(...recreated.warnings);
  for (const vm of snap.vms.filter((v) => v.lifecycle === 'stopped')) {
    const messages = snap.msgqs.filter((q) => q.vmid === vm.vmid).reduce((n, q) => n + q.messages.length, 0);
    const flagged = snap.doorbells.filter((d) => d.vmid === vm.vmid && BigInt(d.flags) !== 0n).length;
    if (messages + flagged > 0) {
      warnings.push(`VM ${vm.name} was stopped: ${messages} queued messages and ${flagged} doorbells' flags not restored (it comes back not started, without hypervisor objects)`);
    }
  }
  const restored = summarize({ vms: snap.vms, msgqs: done.msgqs, doorbells: done.doorbells, consoles: [] });
  return { vms: recreated.vms, restored: { ...restored, consoles: done.consoles, console_bytes: done.consoleBytes }, warnings };
}

/** Re-enqueue the saved messages into an empty queue of the same shape, then set its counters; null when done. */
function refill(q: Msgqueue, saved: MsgqState, staging: GuestMemory): string | null {
  if (q.depth !== saved.depth || q.maxMsgSize !== saved.max_msg_size) {
    return `the queue is ${q.depth} deep with ${q.maxMsgSize}-byte messages; the snapshot's was ${saved.depth} and ${saved.max_msg_size}`;
  }
  if (q.count !== 0) return `the queue holds ${q.count} messages already`;
  for (const [i, message] of saved.messages.entries()) {
    const bytes = Buffer.from(message, 'base64');
    staging.writeBytes(0, bytes);
    const err = q.send(staging, 0, bytes.length, 0);
    if (err !== GH_ERROR.OK) return `message ${i} was refused (${ghErrorName(err)}) after ${i} were re-enqueued`;
  }
  const c = saved.counters;
  q.sent = c.sent;
  q.received = c.received;
  q.bytesSent = c.bytes_sent;
  q.bytesReceived = c.bytes_received;
  q.fullEvents = c.full_events;
  q.fullRejects = c.full_rejects;
  q.flushes = c.flushes;
  return null;
}

/**
 * Masks first, then the flags rung in: a ring clears the ack-masked flags only when enabled flags are set (spec §5),
 * and a saved state never has both, so the flags come back exactly. Then the counters.
 */
function ring(db: Doorbell, saved: DoorbellState): string | null {
  db.setMasks(BigInt(saved.enable_mask), BigInt(saved.ack_mask));
  const flags = BigInt(saved.flags);
  if (flags !== 0n) db.sendFlags(flags);
  if (db.flags !== flags) return `ringing them left 0x${db.flags.toString(16)}`;
  db.sends = saved.counters.sends;
  db.receives = saved.counters.receives;
  db.asserts = saved.counters.asserts;
  return null;
}
