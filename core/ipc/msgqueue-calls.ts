// Hypercall handlers for message queues (spec §1.3 0x17-0x21, rights per spec §1.4).
import { GH_ERROR } from '../abi/errors.js';
import { MSGQ_CREATE_INFO } from '../abi/ipc.js';
import { right, RIGHT_ACTIVATE } from '../abi/objects.js';
import { argNumber, resultsInPlace, type Handler, type HandlerTable } from '../hyp/handler.js';
import { argIsMinusOne, argSmallSigned, argU32, type RegisterFile } from '../hyp/regs.js';
import type { Vic } from '../vm/vic.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Msgqueue } from './msgqueue.js';

const SEND = right('msgqueue', 'send');
const RECEIVE = right('msgqueue', 'receive');

const lookupMsgq = (vcpu: Vcpu, a: RegisterFile, rights: number, activeOnly = true) =>
  vcpu.vm!.cspace.lookup<Msgqueue>(a[0]!, a[1]!, 'msgqueue', rights, activeOnly);

function bind(end: 'sendVirq' | 'receiveVirq', rights: number): Handler {
  return (vcpu, a) => {
    const q = lookupMsgq(vcpu, a, rights);
    if (typeof q === 'number') return q;
    const vic = vcpu.vm!.cspace.lookup<Vic>(a[2]!, a[3]!, 'vic', right('vic', 'bind_source'));
    if (typeof vic === 'number') return vic;
    return q[end].bindShared(vic, a[4]!, a[5]!);
  };
}

function unbind(end: 'sendVirq' | 'receiveVirq', rights: number): Handler {
  return (vcpu, a) => {
    const q = lookupMsgq(vcpu, a, rights);
    if (typeof q === 'number') return q;
    q[end].unbind();
    return GH_ERROR.OK;
  };
}

export const msgqueueCalls: HandlerTable = {
  msgqueue_bind_send_virq: bind('sendVirq', right('msgqueue', 'bind_send')),
  msgqueue_bind_receive_virq: bind('receiveVirq', right('msgqueue', 'bind_receive')),
  msgqueue_unbind_send_virq: unbind('sendVirq', right('msgqueue', 'bind_send')),
  msgqueue_unbind_receive_virq: unbind('receiveVirq', right('msgqueue', 'bind_receive')),

  // The two calls of every message: results in place (every input is read before the results are written).
  msgqueue_send: resultsInPlace((vcpu, a, out) => {
    const q = lookupMsgq(vcpu, a, SEND);
    if (typeof q === 'number') return q;
    const size = argU32(a, 1);
    if (a[7] !== 0) return GH_ERROR.ARGUMENT_INVALID; // send_flags: only bit 0 (push) may be set
    const err = q.send(vcpu.vm!.memory, argNumber(a, 2), size < 0 ? -1 : size, a[6]!);
    if (err !== GH_ERROR.OK) return err;
    out[2] = q.notFull ? 1 : 0; out[3] = 0;
    return GH_ERROR.OK;
  }),

  msgqueue_receive: resultsInPlace((vcpu, a, out) => {
    const q = lookupMsgq(vcpu, a, RECEIVE);
    if (typeof q === 'number') return q;
    const bufSize = argNumber(a, 2);
    const err = q.receive(vcpu.vm!.memory, argNumber(a, 1), Number.isNaN(bufSize) ? Number.MAX_SAFE_INTEGER : bufSize);
    if (err !== GH_ERROR.OK) return err;
    out[2] = q.lastSize; out[3] = 0;
    out[4] = q.notEmpty ? 1 : 0; out[5] = 0;
    return GH_ERROR.OK;
  }),

  msgqueue_flush(vcpu, a) {
    const q = lookupMsgq(vcpu, a, RECEIVE);
    if (typeof q === 'number') return q;
    q.flush();
    return GH_ERROR.OK;
  },

  msgqueue_configure_send(vcpu, a) {
    const q = lookupMsgq(vcpu, a, SEND);
    if (typeof q === 'number') return q;
    const thd = argSmallSigned(a, 1);
    return Number.isNaN(thd) ? GH_ERROR.ARGUMENT_INVALID : q.configureSend(thd, argIsMinusOne(a, 2));
  },

  msgqueue_configure_receive(vcpu, a) {
    const q = lookupMsgq(vcpu, a, RECEIVE);
    if (typeof q === 'number') return q;
    const thd = argSmallSigned(a, 1);
    return Number.isNaN(thd) ? GH_ERROR.ARGUMENT_INVALID : q.configureReceive(thd, argIsMinusOne(a, 2));
  },

  msgqueue_configure(vcpu, a) {
    const q = lookupMsgq(vcpu, a, RIGHT_ACTIVATE, false);
    if (typeof q === 'number') return q;
    if (a[3] !== 0) return GH_ERROR.ARGUMENT_INVALID; // create_info bits 63:32 must be zero
    const info = a[2]!;
    return q.configure(info & MSGQ_CREATE_INFO.DEPTH_MASK, (info >>> MSGQ_CREATE_INFO.MAX_SIZE_SHIFT) & MSGQ_CREATE_INFO.MAX_SIZE_MASK);
  },
};
