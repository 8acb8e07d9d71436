// A snapshot of what a user can observe of the emulated device: the HLOS's secondary VMs (definitions and
// lifecycle), the messages queued in their vdevice queues, the flags and masks of their doorbells, their console
// logs, and the counters of each. Taken in one synchronous pass, so it is one instant of the device: a message is
// either in a queue of the snapshot or counted as received, never both, never neither.
//
// What a snapshot does not hold (and a restore does not bring back) is listed in restore.ts.
import type { ConsoleHub } from '../hlos/console-hub.js';
import { ConsoleError } from '../hlos/console-hub.js';
import type { Hlos } from '../hlos/hlos.js';
import { hex64 } from '../hex.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import type { ConsoleState, DoorbellState, MsgqState, SnapshotState } from './format.js';
import { vdeviceObjects } from './vdevice-objects.js';
import { vmDefinitions } from './vm-definitions.js';

export interface CaptureSource {
  readonly hyp: Hypervisor;
  readonly hlos: Hlos;
  /** The console logs live in the hub; without one, a snapshot holds no consoles. */
  readonly consoles?: ConsoleHub | null;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function captureSnapshot(src: CaptureSource): SnapshotState {
  const vms = vmDefinitions(src.hlos);
  const msgqs: MsgqState[] = [];
  const doorbells: DoorbellState[] = [];
  const consoles: ConsoleState[] = [];
  for (const { vmid } of vms) {
    const rec = src.hlos.vms.get(vmid)!;
    const objects = vdeviceObjects(src.hyp, vmid, rec.resources);
    for (const { key, q } of objects.msgqs) {
      msgqs.push({
        ...key, depth: q.depth, max_msg_size: q.maxMsgSize, messages: q.peekAll().map(base64),
        counters: {
          sent: q.sent, received: q.received, bytes_sent: q.bytesSent, bytes_received: q.bytesReceived,
          full_events: q.fullEvents, full_rejects: q.fullRejects, flushes: q.flushes,
        },
      });
    }
    for (const { key, db } of objects.doorbells) {
      doorbells.push({
        ...key, flags: hex64(db.flags), enable_mask: hex64(db.enableMask), ack_mask: hex64(db.ackMask),
        counters: { sends: db.sends, receives: db.receives, asserts: db.asserts },
      });
    }
    const hub = src.consoles;
    const log = hub?.log(vmid);
    if (hub && log && !(log instanceof ConsoleError)) {
      consoles.push({ vmid, start: log.start, end: log.end, data: base64(log.bytes), bytes_out: hub.bytesOut(vmid), bytes_in: hub.bytesIn(vmid) });
    }
  }
  return { vms, msgqs, doorbells, consoles };
}

/** What a snapshot holds, in counts (the REST answer and the logs). */
export interface SnapshotSummary {
  readonly vms: number;
  readonly running: number;
  readonly msgqs: number;
  readonly messages: number;
  readonly doorbells: number;
  /** Doorbells with flags set. */
  readonly doorbells_flagged: number;
  readonly consoles: number;
  readonly console_bytes: number;
}

export function summarize(s: SnapshotState): SnapshotSummary {
  return {
    vms: s.vms.length,
    running: s.vms.filter((vm) => vm.lifecycle === 'running').length,
    msgqs: s.msgqs.length,
    messages: s.msgqs.reduce((n, q) => n + q.messages.length, 0),
    doorbells: s.doorbells.length,
    doorbells_flagged: s.doorbells.filter((d) => BigInt(d.flags) !== 0n).length,
    consoles: s.consoles.length,
    console_bytes: s.consoles.reduce((n, c) => n + c.end - c.start, 0),
  };
}
