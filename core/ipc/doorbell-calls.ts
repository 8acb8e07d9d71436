// Hypercall handlers for doorbells (spec §1.3 0x10-0x15, rights per spec §1.4): send needs SEND; receive, reset
// and mask need RECEIVE; bind and unbind need BIND.
import { GH_ERROR } from '../abi/errors.js';
import { right } from '../abi/objects.js';
import type { HandlerTable } from '../hyp/handler.js';
import type { RegisterFile } from '../hyp/regs.js';
import type { Vic } from '../vm/vic.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Doorbell } from './doorbell.js';

const SEND = right('doorbell', 'send');
const RECEIVE = right('doorbell', 'receive');
const BIND = right('doorbell', 'bind');

const lookupDoorbell = (vcpu: Vcpu, a: RegisterFile, rights: number) =>
  vcpu.vm!.cspace.lookup<Doorbell>(a[0]!, a[1]!, 'doorbell', rights);

export const doorbellCalls: HandlerTable = {
  doorbell_bind_virq(vcpu, a) {
    const db = lookupDoorbell(vcpu, a, BIND);
    if (typeof db === 'number') return db;
    const vic = vcpu.vm!.cspace.lookup<Vic>(a[2]!, a[3]!, 'vic', right('vic', 'bind_source'));
    if (typeof vic === 'number') return vic;
    return db.virq.bindShared(vic, a[4]!, a[5]!);
  },

  doorbell_unbind_virq(vcpu, a) {
    const db = lookupDoorbell(vcpu, a, BIND);
    if (typeof db === 'number') return db;
    db.virq.unbind();
    return GH_ERROR.OK;
  },

  doorbell_send(vcpu, a, out) {
    const db = lookupDoorbell(vcpu, a, SEND);
    if (typeof db === 'number') return db;
    db.send(a[2]!, a[3]!);
    out[2] = db.oldLo;
    out[3] = db.oldHi;
    return GH_ERROR.OK;
  },

  doorbell_receive(vcpu, a, out) {
    const db = lookupDoorbell(vcpu, a, RECEIVE);
    if (typeof db === 'number') return db;
    const err = db.receive(a[2]!, a[3]!);
    if (err !== GH_ERROR.OK) return err;
    out[2] = db.oldLo;
    out[3] = db.oldHi;
    return GH_ERROR.OK;
  },

  doorbell_reset(vcpu, a) {
    const db = lookupDoorbell(vcpu, a, RECEIVE);
    if (typeof db === 'number') return db;
    db.resetFlags();
    return GH_ERROR.OK;
  },

  doorbell_mask(vcpu, a) {
    const db = lookupDoorbell(vcpu, a, RECEIVE);
    if (typeof db === 'number') return db;
    db.mask(a[2]!, a[3]!, a[4]!, a[5]!);
    return GH_ERROR.OK;
  },
};
