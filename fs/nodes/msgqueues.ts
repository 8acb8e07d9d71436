// gunyah/msgqueues/<id>/: every message queue of the hypervisor by object id (spec §4), its configuration, its
// counters as the core keeps them, and the VMs at its ends. `flush` empties it as its receiver would.
import { OBJECT_STATE_NAMES } from '../../core/abi/objects.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { dir, dynamicDir, file, invalid, value, woFile, type DirNode } from '../tree.js';
import { callAs, endsOf, vmidsOf } from './ends.js';
import { decimalName, vmidList, written } from './format.js';
import { objectById, objectIds } from './objects.js';

function msgqueueDir(hyp: Hypervisor, q: Msgqueue): DirNode {
  return dir({
    state: value(() => OBJECT_STATE_NAMES[q.state]),
    depth: value(() => q.depth),
    max_msg_size: value(() => q.maxMsgSize),
    count: value(() => q.count),
    notfull_threshold: value(() => q.notfullThd),
    notempty_threshold: value(() => q.notemptyThd),
    sent: value(() => q.sent),
    received: value(() => q.received),
    bytes_sent: value(() => q.bytesSent),
    bytes_received: value(() => q.bytesReceived),
    full_events: value(() => q.fullEvents),
    full_rejects: value(() => q.fullRejects),
    flushes: value(() => q.flushes),
    sender_vmid: file(() => vmidList(vmidsOf(endsOf(hyp, q).send))),
    receiver_vmid: file(() => vmidList(vmidsOf(endsOf(hyp, q).receive))),
    // spec §4.3: msgqueue_flush needs the RECEIVE right, so the receiver makes the call.
    flush: woFile((text) => {
      if (written(text) !== '1') return invalid(`write 1 to flush message queue ${q.id}`);
      const receiver = endsOf(hyp, q).receive[0];
      if (receiver === undefined) return invalid(`no VM holds a RECEIVE capability to message queue ${q.id}`);
      return callAs(receiver, 'msgqueue_flush', []);
    }),
  });
}

export function msgqueuesDir(hyp: Hypervisor): DirNode {
  return dynamicDir(
    () => objectIds(hyp, 'msgqueue'),
    (name) => {
      const q = objectById<Msgqueue>(hyp, 'msgqueue', decimalName(name));
      return q === undefined ? undefined : msgqueueDir(hyp, q);
    },
  );
}
