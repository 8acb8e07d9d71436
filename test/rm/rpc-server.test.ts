import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HC } from '../../core/abi/hypercalls.js';
import { rightNames } from '../../core/abi/objects.js';
import { RM_ERROR, RM_MSG, RM_MSG_TYPE, RM_NOTIF, RM_RPC, rmErrorName } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { VmConsoleCharsNotification, VmConsoleWriteRequest, VmGetVmidReply, VmidRequest } from '../../core/rm/messages.js';
import { encodeMessage, RpcReassembler } from '../../core/rm/rpc-codec.js';
import { boot, payload, settle } from './harness.js';

const capOf = (vm: { cspace: { capAt(lo: number, hi: number): unknown } }, capid: bigint) =>
  vm.cspace.capAt(Number(capid & 0xffffffffn), Number(capid >> 32n)) as { object: Msgqueue; rights: number };

test('boot: the RM is VMID 0xFF and gives the HLOS a 240-byte, depth-8 queue pair with exactly SEND and RECEIVE', () => {
  const { hyp, rm } = boot();
  assert.equal(rm.vm.vmid, VMID.RM);
  const hlos = hyp.vms.get(VMID.HLOS)!;
  const link = rm.linkOf(VMID.HLOS)!;
  const tx = capOf(hlos, link.txCapid);
  const rx = capOf(hlos, link.rxCapid);
  assert.deepEqual(rightNames('msgqueue', tx.rights), ['send']);
  assert.deepEqual(rightNames('msgqueue', rx.rights), ['receive']);
  for (const q of [tx.object, rx.object]) {
    assert.equal(q.depth, RM_RPC.QUEUE_DEPTH);
    assert.equal(q.maxMsgSize, RM_RPC.MESSAGE_SIZE);
  }
  // spec §4.5: the VM's tx cap's send vIRQ is "tx ready", its rx cap's receive vIRQ "rx pending", on its own vIC
  assert.equal(tx.object.sendVirq.vic, hlos.vic);
  assert.equal(tx.object.sendVirq.virq, link.txVirq);
  assert.equal(rx.object.receiveVirq.vic, hlos.vic);
  assert.equal(rx.object.receiveVirq.virq, link.rxVirq);
  // and the RM the opposite ends, on its vIC
  assert.equal(tx.object.receiveVirq.vic, rm.vm.vic);
  assert.equal(rx.object.sendVirq.vic, rm.vm.vic);
  assert.ok(link.txVirq >= 32 && link.rxVirq >= 32, 'shared (SPI) numbers');
  assert.equal(rm.lookup(VMID.HLOS)!.status, 3 /* RUNNING */);
});

test('a request is answered with a REPLY echoing its msg_id and seq; the RM reached its queues by hypercall', async () => {
  const { hyp, rm, hlos } = boot();
  const rmVcpu = rm.vm.vcpus[0]!;
  const before = rmVcpu.hypercalls;
  const sendsBefore = hyp.stats.total(HC.msgqueue_send);
  const seq = hlos.send(RM_MSG.VM_GET_VMID, new Uint8Array(0), 0x1234);
  await settle();
  const [reply] = hlos.messages;
  assert.equal(reply?.type, RM_MSG_TYPE.REPLY);
  assert.equal(reply?.msgId, RM_MSG.VM_GET_VMID);
  assert.equal(reply?.seq, seq);
  assert.deepEqual(hlos.packets[0]!.subarray(0, 8), Uint8Array.of(0x21, 0x02, 0x34, 0x12, 0x24, 0x00, 0x00, 0x56));
  const r = await hlos.replyTo(RM_MSG.VM_GET_VMID, seq);
  assert.equal(r.rmError, RM_ERROR.OK);
  assert.deepEqual(VmGetVmidReply.decode(r.data), { vmid: VMID.HLOS });
  // one msgqueue_receive (not_empty = 0 ends the drain) and one msgqueue_send, on the RM's own vCPU
  assert.equal(rmVcpu.hypercalls - before, 2);
  assert.equal(hyp.stats.total(HC.msgqueue_send) - sendsBefore, 2, 'the HLOS request and the RM reply');
  assert.equal(rm.stats.count('VM_GET_VMID', 'RM_OK'), 1);
});

test('an unknown message ID gets RM_ERROR_UNIMPLEMENTED', async () => {
  const { rm, hlos } = boot();
  const r = await hlos.call(0x5600_7777, Uint8Array.of(1, 2, 3));
  assert.equal(rmErrorName(r.rmError), 'RM_ERROR_UNIMPLEMENTED');
  assert.equal(r.data.length, 0, 'an error reply is the error word alone');
  assert.equal(rm.stats.count('UNKNOWN', 'RM_ERROR_UNIMPLEMENTED'), 1);
});

test('a wrong payload length is RM_ERROR_MSG_INVALID', async () => {
  const { hlos } = boot();
  const r = await hlos.call(RM_MSG.VM_GET_VMID, Uint8Array.of(0));
  assert.equal(rmErrorName(r.rmError), 'RM_ERROR_MSG_INVALID');
});

test('only REQUEST is accepted: replies, notifications and bad headers from a client are dropped and counted', async () => {
  const { rm, hlos } = boot();
  for (const type of ['reply', 'notification'] as const) {
    const [p] = encodeMessage(type, RM_MSG.VM_GET_VMID, 7, new Uint8Array(0)) as Uint8Array[];
    hlos.sendPacket(p!);
  }
  hlos.sendPacket(Uint8Array.of(0x21, 0x01, 0, 0)); // shorter than a header
  hlos.sendPacket(Uint8Array.of(0x22, 0x01, 0, 0, 0x24, 0, 0, 0x56)); // api_version 2
  hlos.sendPacket(Uint8Array.of(0x11, 0x01, 0, 0, 0x24, 0, 0, 0x56)); // header_words 1
  hlos.sendPacket(Uint8Array.of(0x21, 0x01 | (63 << 2), 0, 0, 0x24, 0, 0, 0x56)); // 63 fragments
  hlos.sendPacket(Uint8Array.of(0x21, 0x00, 0, 0, 0x24, 0, 0, 0x56)); // continuation with nothing in progress
  await settle();
  assert.equal(hlos.messages.length, 0, 'no reply to any of them');
  assert.equal(rm.stats.drop('not_request'), 2);
  assert.equal(rm.stats.drop('short_packet'), 1);
  assert.equal(rm.stats.drop('bad_api_version'), 1);
  assert.equal(rm.stats.drop('bad_header_words'), 1);
  assert.equal(rm.stats.drop('too_many_fragments'), 1);
  assert.equal(rm.stats.drop('orphan_continuation'), 1);
});

test('a fragmented request is reassembled; a new request drops a partial one (spec §9.2)', async () => {
  const { rm, hlos } = boot();
  const open = await hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: 0 }));
  assert.equal(open.rmError, RM_ERROR.OK);
  const bytes = new Uint8Array(1000).map((_, i) => i & 0xff);
  // the first packet of a 2-packet message, then a new request: the partial one is dropped
  const partial = encodeMessage('request', RM_MSG.VM_CONSOLE_WRITE, 50, payload(VmConsoleWriteRequest, { vmid: 0, bytes })) as Uint8Array[];
  hlos.sendPacket(partial[0]!, false);
  const r = await hlos.call(RM_MSG.VM_GET_VMID);
  assert.equal(r.rmError, RM_ERROR.OK);
  assert.equal(rm.stats.drop('superseded'), 1);
  assert.equal(hlos.messages.filter((m) => m.seq === 50).length, 0, 'the partial request is never answered');
  // a whole 5-packet write: the HLOS owns its own console, so its self-write loops back as console chars
  const own = await hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: VMID.HLOS }));
  assert.equal(own.rmError, RM_ERROR.OK);
  const w = await hlos.call(RM_MSG.VM_CONSOLE_WRITE, payload(VmConsoleWriteRequest, { vmid: 0, bytes }));
  assert.equal(w.rmError, RM_ERROR.OK);
  await settle();
  const [chars] = hlos.takeNotifications(RM_NOTIF.VM_CONSOLE_CHARS);
  assert.deepEqual(VmConsoleCharsNotification.decode(chars!.payload), { vmid: VMID.HLOS, bytes });
});

test('notifications carry the RM-wide counter as seq, from 0, one more each', async () => {
  const { rm, hlos } = boot();
  await hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: 0 }));
  await hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: VMID.HLOS }));
  for (let i = 0; i < 3; i++) {
    await hlos.call(RM_MSG.VM_CONSOLE_WRITE, payload(VmConsoleWriteRequest, { vmid: 0, bytes: Uint8Array.of(0x41 + i) }));
  }
  await settle();
  assert.deepEqual(hlos.takeNotifications(RM_NOTIF.VM_CONSOLE_CHARS).map((n) => n.seq), [0, 1, 2]);
  assert.equal(rm.stats.notificationSeq, 3);
  assert.equal(rm.stats.sent('VM_CONSOLE_CHARS'), 3);
});

test('one pending reply per client: with the client queue full, a newer reply replaces the waiting one', async () => {
  const { rm, hlos } = boot();
  const consumer = hlos.port.onPacket;
  hlos.port.onPacket = null; // the HLOS stops draining its queue
  const endpoint = rm.lookup(VMID.HLOS)!.endpoint!;
  const seqs: number[] = [];
  for (let i = 0; i < 11; i++) {
    seqs.push(hlos.send(RM_MSG.VM_GET_VMID));
    await settle();
  }
  // 8 replies fill the queue, the 9th is in flight, the 10th was pending and the 11th replaced it
  assert.equal(endpoint.inFlightMsgId, RM_MSG.VM_GET_VMID);
  assert.equal(endpoint.hasPendingReply, true);
  assert.equal(rm.stats.drop('reply_superseded'), 1);
  hlos.port.onPacket = consumer;
  hlos.port.drain();
  await settle();
  hlos.port.drain();
  await settle();
  const answered = hlos.messages.filter((m) => m.type === RM_MSG_TYPE.REPLY).map((m) => m.seq);
  assert.deepEqual(answered, [...seqs.slice(0, 9), seqs[10]], 'the 10th request is never answered');
  assert.equal(endpoint.txWaits > 0, true);
});

test('up to 256 notifications wait for a full client; beyond that the oldest are dropped and counted', async () => {
  const { rm, hlos } = boot();
  await hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: 0 }));
  await hlos.call(RM_MSG.VM_CONSOLE_OPEN, payload(VmidRequest, { vmid: VMID.HLOS }));
  const consumer = hlos.port.onPacket;
  hlos.port.onPacket = null;
  const endpoint = rm.lookup(VMID.HLOS)!.endpoint!;
  const hlosRm = rm.lookup(VMID.HLOS)!;
  // notifications straight from the RM, as its services send them: 8 fill the queue, 1 in flight, 300 wait
  for (let i = 0; i < 309; i++) {
    rm.notify(VMID.HLOS, RM_NOTIF.VM_CONSOLE_CHARS, payload(VmConsoleCharsNotification, { vmid: 3, bytes: Uint8Array.of(i & 0xff) }));
  }
  assert.equal(endpoint.pendingNotifications, RM_RPC.MAX_PENDING_NOTIFICATIONS);
  assert.equal(rm.stats.drop('notification_overflow'), 300 - 256);
  assert.ok(hlosRm.console.selfOpen);
  hlos.port.onPacket = consumer;
  for (let i = 0; i < 80 && endpoint.pendingNotifications + (endpoint.inFlightMsgId === null ? 0 : 1) > 0; i++) {
    hlos.port.drain();
    await settle();
  }
  const got = hlos.takeNotifications(RM_NOTIF.VM_CONSOLE_CHARS);
  assert.equal(got.length, 9 + 256);
  // the first 9 went out at once; of the next 300, the oldest 44 were dropped
  assert.deepEqual(got.slice(8, 11).map((n) => n.seq), [8, 9 + 44, 9 + 45]);
  assert.equal(rm.stats.sent('VM_CONSOLE_CHARS'), 9 + 256);
});

test('random packets never crash the RM: every complete REQUEST is answered once, everything else dropped', async () => {
  const known = [...Object.values(RM_MSG), 0x12345678];
  const header = fc.record({
    byte0: fc.oneof(fc.constant(0x21), fc.integer({ min: 0, max: 255 })),
    type: fc.integer({ min: 0, max: 3 }),
    frags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 63 })),
    seq: fc.integer({ min: 0, max: 0xffff }),
    msgId: fc.oneof(fc.constantFrom(...known), fc.integer({ min: 0, max: 0xffffffff })),
  });
  const packet = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 240 }),
    fc.tuple(header, fc.uint8Array({ maxLength: 232 })).map(([h, body]) => {
      const p = new Uint8Array(8 + body.length);
      const v = new DataView(p.buffer);
      p[0] = h.byte0;
      p[1] = h.type | (h.frags << 2);
      v.setUint16(2, h.seq, true);
      v.setUint32(4, h.msgId, true);
      p.set(body, 8);
      return p;
    }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 80 }), async (packets) => {
      const { rm, hlos } = boot();
      const model = new RpcReassembler();
      const expected: string[] = [];
      for (const p of packets) {
        const r = model.push(p);
        if (r.kind === 'message' && r.type === RM_MSG_TYPE.REQUEST) expected.push(`${r.msgId}/${r.seq}`);
        hlos.sendPacket(p, true);
        await settle();
      }
      await settle();
      const replies = hlos.messages.filter((m) => m.type === RM_MSG_TYPE.REPLY).map((m) => `${m.msgId}/${m.seq}`);
      assert.deepEqual(replies, expected);
      assert.equal(rm.stats.handlerFaults, 0);
    }),
    { seed: 0x5eed, numRuns: 100 },
  );
});
