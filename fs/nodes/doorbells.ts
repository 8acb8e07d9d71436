// gunyah/doorbells/<id>/: every doorbell of the hypervisor by object id (spec §5): its 64-bit flags and masks, its
// counters, the VMs at its ends, and `send`, which rings it as the VM holding the SEND capability would.
import { OBJECT_STATE_NAMES } from '../../core/abi/objects.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { Doorbell } from '../../core/ipc/doorbell.js';
import { dir, dynamicDir, file, invalid, isFsError, value, woFile, type DirNode } from '../tree.js';
import { callAs, endsOf, vmidsOf } from './ends.js';
import { decimalName, hex64, parseU64, vmidList } from './format.js';
import { objectById, objectIds } from './objects.js';

function doorbellDir(hyp: Hypervisor, db: Doorbell): DirNode {
  return dir({
    state: value(() => OBJECT_STATE_NAMES[db.state]),
    flags: value(() => hex64(db.flags)),
    enable_mask: value(() => hex64(db.enableMask)),
    ack_mask: value(() => hex64(db.ackMask)),
    sends: value(() => db.sends),
    receives: value(() => db.receives),
    asserts: value(() => db.asserts),
    sender_vmid: file(() => vmidList(vmidsOf(endsOf(hyp, db).send))),
    receiver_vmid: file(() => vmidList(vmidsOf(endsOf(hyp, db).receive))),
    // spec §5: doorbell_send(capid, new_flags) needs the SEND right; the lowest sending VMID makes the call.
    send: woFile((text) => {
      const flags = parseU64(text, 'the flags to send');
      if (isFsError(flags)) return flags;
      const sender = endsOf(hyp, db).send[0];
      if (sender === undefined) return invalid(`no VM holds a SEND capability to doorbell ${db.id}`);
      return callAs(sender, 'doorbell_send', [flags]);
    }),
  });
}

export function doorbellsDir(hyp: Hypervisor): DirNode {
  return dynamicDir(
    () => objectIds(hyp, 'doorbell'),
    (name) => {
      const db = objectById<Doorbell>(hyp, 'doorbell', decimalName(name));
      return db === undefined ? undefined : doorbellDir(hyp, db);
    },
  );
}
