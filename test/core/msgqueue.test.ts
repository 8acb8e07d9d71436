// spec §4: message queues through their hypercalls — configuration, send and receive, thresholds, vIRQs, errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PAGE_SIZE, PGTABLE_ACCESS } from '../../core/abi/memory.js';
import { right, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import { encodeVirqInfo } from '../../core/abi/virq.js';
import type { Msgqueue, MsgqueueTransition } from '../../core/ipc/msgqueue.js';
import { assertCapErrors, hypFixture, RAM_BASE, RAM_SIZE, type FixtureVm } from '../helpers/hyp-fixture.js';

const SEND = right('msgqueue', 'send');
const RECEIVE = right('msgqueue', 'receive');
const BIND_SEND = right('msgqueue', 'bind_send');
const BIND_RECEIVE = right('msgqueue', 'bind_receive');
const TX_VIRQ = 40;
const RX_VIRQ = 41;
const SRC = RAM_BASE;
const DST = RAM_BASE + 0x1000;
const UNMAPPED = 0x4000_0000;

const createInfo = (depth: number, maxMsgSize: number): number => depth | (maxMsgSize << 16);

/** Write `text` at SRC and send it. */
function sendText(vm: FixtureVm, q: bigint, text: string, flags = 0) {
  const bytes = new TextEncoder().encode(text);
  vm.vm.memory.writeBytes(SRC, bytes);
  return vm.call('msgqueue_send', [q, bytes.length, SRC, flags, 0]);
}

/** Receive into DST and decode what arrived. */
function receiveText(vm: FixtureVm, q: bigint, bufSize = 240) {
  const r = vm.call('msgqueue_receive', [q, DST, bufSize, 0]);
  const size = Number(r.x[1]);
  const text = new TextDecoder().decode(vm.vm.memory.readBytes(DST, size) as Uint8Array);
  return { err: r.err, size, notEmpty: r.x[2], text };
}

describe('msgqueue_configure and activation (spec §4.2)', () => {
  test('create_info: depth in bits 15:0, max_msg_size in bits 31:16; activation sets notfull = depth-1, notempty = 1', () => {
    const { a } = hypFixture();
    const q = a.create('msgqueue');
    assert.equal(a.call('msgqueue_configure', [q, createInfo(8, 240), 0]).err, GH_ERROR.OK);
    assert.equal(a.call('object_activate', [q, 0]).err, GH_ERROR.OK);
    const msgq = a.object<Msgqueue>(q);
    assert.deepEqual([msgq.depth, msgq.maxMsgSize, msgq.notfullThd, msgq.notemptyThd, msgq.count], [8, 240, 7, 1, 0]);
  });

  test('limits: 0 < depth < 256 and 0 < max_msg_size < 1024, exclusive (spec §4.1)', () => {
    const { a } = hypFixture();
    const cases: [number, number, number][] = [
      [1, 1, GH_ERROR.OK], [255, 1023, GH_ERROR.OK],
      [0, 240, GH_ERROR.ARGUMENT_INVALID], [256, 240, GH_ERROR.ARGUMENT_INVALID],
      [8, 0, GH_ERROR.ARGUMENT_INVALID], [8, 1024, GH_ERROR.ARGUMENT_INVALID],
    ];
    for (const [depth, size, err] of cases) {
      const q = a.create('msgqueue');
      assert.equal(a.call('msgqueue_configure', [q, createInfo(depth, size), 0]).err, err, `depth ${depth} size ${size}`);
    }
  });

  test('create_info bits 63:32 must be zero', () => {
    const { a } = hypFixture();
    const q = a.create('msgqueue');
    assert.equal(a.call('msgqueue_configure', [q, (1n << 32n) | BigInt(createInfo(8, 240)), 0]).err, GH_ERROR.ARGUMENT_INVALID);
  });

  test('configure after activation is OBJECT_STATE; activating twice is OBJECT_STATE', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    assert.equal(a.call('msgqueue_configure', [q, createInfo(4, 16), 0]).err, GH_ERROR.OBJECT_STATE);
    assert.equal(a.call('object_activate', [q, 0]).err, GH_ERROR.OBJECT_STATE);
  });

  test('activation without configuration is OBJECT_CONFIG and leaves the queue in INIT', () => {
    const { a } = hypFixture();
    const q = a.create('msgqueue');
    assert.equal(a.call('object_activate', [q, 0]).err, GH_ERROR.OBJECT_CONFIG);
    assert.equal(sendText(a, q, 'x').err, GH_ERROR.OBJECT_STATE);
    assert.equal(a.call('msgqueue_configure', [q, createInfo(2, 8), 0]).err, GH_ERROR.OK);
    assert.equal(a.call('object_activate', [q, 0]).err, GH_ERROR.OK);
  });

  test('msgqueue_configure: cspace errors (needs ACTIVATE; works on an INIT queue)', () => {
    const { a } = hypFixture();
    assertCapErrors(a, {
      name: 'msgqueue_configure', args: (q) => [q, createInfo(8, 240), 0], needs: RIGHT_ACTIVATE,
      make: () => a.create('msgqueue'), other: () => a.doorbell(),
    });
  });
});

describe('msgqueue_send / msgqueue_receive (spec §4.3)', () => {
  test('messages arrive in order with their sizes; not_full and not_empty report the queue', () => {
    const { a } = hypFixture();
    const q = a.msgqueue(2, 16);
    assert.deepEqual([sendText(a, q, 'one').x[1], sendText(a, q, 'three').x[1]], [1n, 0n]);
    assert.deepEqual(receiveText(a, q), { err: GH_ERROR.OK, size: 3, notEmpty: 1n, text: 'one' });
    assert.deepEqual(receiveText(a, q), { err: GH_ERROR.OK, size: 5, notEmpty: 0n, text: 'three' });
  });

  test('a full queue refuses with MSGQUEUE_FULL and not_full = 0, counting the rejects', () => {
    const { a } = hypFixture();
    const q = a.msgqueue(1, 16);
    assert.equal(sendText(a, q, 'a').err, GH_ERROR.OK);
    const r = sendText(a, q, 'b');
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.MSGQUEUE_FULL, 0n]);
    assert.deepEqual([a.object<Msgqueue>(q).fullRejects, a.object<Msgqueue>(q).fullEvents], [1, 1]);
  });

  test('an empty queue answers MSGQUEUE_EMPTY with size 0 and not_empty = 0', () => {
    const { a } = hypFixture();
    const r = a.call('msgqueue_receive', [a.msgqueue(), DST, 240, 0]);
    assert.deepEqual([r.err, r.x[1], r.x[2]], [GH_ERROR.MSGQUEUE_EMPTY, 0n, 0n]);
  });

  test('size 0, above max_msg_size or above 32 bits is ARGUMENT_SIZE and enqueues nothing (spec §4.4)', () => {
    const { a } = hypFixture();
    const q = a.msgqueue(4, 16);
    for (const size of [0, 17, 0x1_0000_0001n]) {
      assert.equal(a.call('msgqueue_send', [q, size, SRC, 0, 0]).err, GH_ERROR.ARGUMENT_SIZE, `size ${size}`);
    }
    assert.equal(a.object<Msgqueue>(q).count, 0);
  });

  test('an unmapped or partly unmapped send buffer is ADDR_INVALID and enqueues nothing', () => {
    const { a } = hypFixture();
    const q = a.msgqueue(4, 16);
    assert.equal(a.call('msgqueue_send', [q, 8, UNMAPPED, 0, 0]).err, GH_ERROR.ADDR_INVALID);
    assert.equal(a.call('msgqueue_send', [q, 8, RAM_BASE + RAM_SIZE - 4, 0, 0]).err, GH_ERROR.ADDR_INVALID);
    assert.equal(a.call('msgqueue_send', [q, 8, 1n << 60n, 0, 0]).err, GH_ERROR.ADDR_INVALID);
    assert.equal(a.object<Msgqueue>(q).count, 0);
  });

  test('send_flags: only bit 0 (push) may be set', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    assert.equal(sendText(a, q, 'x', 2).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(a.call('msgqueue_send', [q, 1, SRC, 1n << 32n, 0]).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(sendText(a, q, 'x', 1).err, GH_ERROR.OK);
  });

  test('a receive buffer shorter than the message is ADDR_OVERFLOW and the message stays queued', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    sendText(a, q, 'hello');
    assert.equal(receiveText(a, q, 4).err, GH_ERROR.ADDR_OVERFLOW);
    assert.deepEqual(receiveText(a, q, 5), { err: GH_ERROR.OK, size: 5, notEmpty: 0n, text: 'hello' });
  });

  test('an unmapped or read-only receive buffer is ADDR_INVALID and the message stays queued', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    sendText(a, q, 'hello');
    assert.equal(a.call('msgqueue_receive', [q, UNMAPPED, 240, 0]).err, GH_ERROR.ADDR_INVALID);
    const readOnly = RAM_BASE + RAM_SIZE;
    a.vm.memory.mapPage(readOnly, Buffer.alloc(PAGE_SIZE), PGTABLE_ACCESS.R);
    assert.equal(a.call('msgqueue_receive', [q, readOnly, 240, 0]).err, GH_ERROR.ADDR_INVALID);
    assert.equal(receiveText(a, q).text, 'hello');
  });

  test('a message crossing a page boundary is copied whole', () => {
    const { a } = hypFixture();
    const q = a.msgqueue(1, 1023);
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    a.vm.memory.writeBytes(RAM_BASE + PAGE_SIZE - 300, payload);
    assert.equal(a.call('msgqueue_send', [q, 1000, RAM_BASE + PAGE_SIZE - 300, 0, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('msgqueue_receive', [q, RAM_BASE + 3 * PAGE_SIZE - 10, 1023, 0]).x[1], 1000n);
    assert.deepEqual(a.vm.memory.readBytes(RAM_BASE + 3 * PAGE_SIZE - 10, 1000), payload);
  });

  test('statistics: sent, received, bytes, full events, flushes', () => {
    const { a } = hypFixture();
    const q = a.msgqueue(2, 16);
    sendText(a, q, 'abc');
    sendText(a, q, 'de');
    receiveText(a, q);
    a.call('msgqueue_flush', [q, 0]);
    const m = a.object<Msgqueue>(q);
    assert.deepEqual([m.sent, m.received, m.bytesSent, m.bytesReceived, m.fullEvents, m.flushes], [2, 1, 5, 3, 1, 1]);
  });

  test('full and drain transitions are events', () => {
    const { hyp, a } = hypFixture();
    const seen: MsgqueueTransition[] = [];
    const off = hyp.events.on('msgq-transition', ({ what }) => seen.push(what));
    const q = a.msgqueue(1, 8);
    sendText(a, q, 'x');
    receiveText(a, q);
    sendText(a, q, 'y');
    a.call('msgqueue_flush', [q, 0]);
    off();
    assert.deepEqual(seen, ['full', 'drain', 'full', 'drain']);
  });

  test('one VM sends, another receives, each with only its own right', () => {
    const { a, b } = hypFixture();
    const q = a.msgqueue();
    const tx = a.grant(q, b, SEND);
    const rx = q;
    assert.equal(sendText(b, tx, 'ping').err, GH_ERROR.OK);
    assert.equal(receiveText(b, tx).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
    assert.equal(receiveText(a, rx).text, 'ping');
  });

  for (const [name, needs, args] of [
    ['msgqueue_send', SEND, (q: bigint) => [q, 1, SRC, 0, 0]],
    ['msgqueue_receive', RECEIVE, (q: bigint) => [q, DST, 240, 0]],
    ['msgqueue_flush', RECEIVE, (q: bigint) => [q, 0]],
    ['msgqueue_configure_send', SEND, (q: bigint) => [q, -1, -1, -1]],
    ['msgqueue_configure_receive', RECEIVE, (q: bigint) => [q, -1, -1, -1]],
    ['msgqueue_unbind_send_virq', BIND_SEND, (q: bigint) => [q, 0]],
    ['msgqueue_unbind_receive_virq', BIND_RECEIVE, (q: bigint) => [q, 0]],
  ] as const) {
    test(`${name}: cspace errors (needs ${needs === SEND ? 'SEND' : needs === RECEIVE ? 'RECEIVE' : 'BIND'}; INIT queue is OBJECT_STATE)`, () => {
      const { a } = hypFixture();
      assertCapErrors(a, { name, needs, args, make: () => a.msgqueue(), other: () => a.doorbell(), makeInit: () => a.create('msgqueue') });
    });
  }
});

describe('msgqueue_flush (spec §4.3)', () => {
  test('flush empties the queue, asserts TX and clears RX when it held messages', () => {
    const { a, q, m, vic } = boundQueue(4);
    sendText(a, q, 'x');
    assert.equal(vic.isPending(RX_VIRQ), true);
    assert.equal(a.call('msgqueue_flush', [q, 0]).err, GH_ERROR.OK);
    assert.deepEqual([m.count, vic.isPending(TX_VIRQ), vic.isPending(RX_VIRQ)], [0, true, false]);
    assert.equal(receiveText(a, q).err, GH_ERROR.MSGQUEUE_EMPTY);
  });

  test('flushing an empty queue raises nothing', () => {
    const { a, q, m, vic } = boundQueue(4);
    a.call('msgqueue_flush', [q, 0]);
    assert.deepEqual([vic.isPending(TX_VIRQ), m.sendVirq.asserts, m.flushes], [false, 0, 1]);
  });
});

/** A queue in VM a with TX on SPI 40 and RX on SPI 41 of a's vIC. */
function boundQueue(depth: number) {
  const fx = hypFixture();
  const { a } = fx;
  const q = a.msgqueue(depth, 16);
  assert.equal(a.call('msgqueue_bind_send_virq', [q, a.vic, TX_VIRQ, 0]).err, GH_ERROR.OK);
  assert.equal(a.call('msgqueue_bind_receive_virq', [q, a.vic, RX_VIRQ, 0]).err, GH_ERROR.OK);
  return { ...fx, q, m: a.object<Msgqueue>(q), vic: a.vm.vic };
}

describe('msgqueue vIRQs with the default thresholds (spec §4.3)', () => {
  test('RX fires when a message lands in an empty queue, and on every push', () => {
    const { a, q, m } = boundQueue(4);
    sendText(a, q, '1');
    sendText(a, q, '2');
    assert.equal(m.receiveVirq.asserts, 1);
    sendText(a, q, '3', 1);
    assert.equal(m.receiveVirq.asserts, 2);
  });

  test('TX fires only when a full queue drops to depth - 1', () => {
    const { a, q, m, vic } = boundQueue(2);
    sendText(a, q, '1');
    receiveText(a, q);
    assert.equal(m.sendVirq.asserts, 0, 'never full: no TX');
    sendText(a, q, '1');
    sendText(a, q, '2');
    receiveText(a, q);
    assert.deepEqual([m.sendVirq.asserts, vic.isPending(TX_VIRQ)], [1, true]);
    receiveText(a, q);
    assert.equal(m.sendVirq.asserts, 1);
  });

  test('RX is level: pending again at end of interrupt while messages wait, not after the last receive', () => {
    const { a, q, vic } = boundQueue(4);
    sendText(a, q, '1');
    sendText(a, q, '2');
    assert.equal(vic.acknowledge(0), RX_VIRQ);
    receiveText(a, q);
    vic.endOfInterrupt(RX_VIRQ);
    assert.equal(vic.isPending(RX_VIRQ), true);
    assert.equal(vic.acknowledge(0), RX_VIRQ);
    receiveText(a, q);
    vic.endOfInterrupt(RX_VIRQ);
    assert.equal(vic.isPending(RX_VIRQ), false);
  });
});

describe('msgqueue_configure_send / msgqueue_configure_receive (spec §4.3)', () => {
  test('configure_send: thd < depth, -1 keeps it; count <= thd asserts TX, else clears it', () => {
    const { a, q, m, vic } = boundQueue(4);
    sendText(a, q, '1');
    sendText(a, q, '2');
    assert.equal(a.call('msgqueue_configure_send', [q, 1, -1, -1]).err, GH_ERROR.OK);
    assert.deepEqual([m.notfullThd, vic.isPending(TX_VIRQ)], [1, false]);
    assert.equal(a.call('msgqueue_configure_send', [q, 2, -1, -1]).err, GH_ERROR.OK);
    assert.deepEqual([m.notfullThd, vic.isPending(TX_VIRQ)], [2, true]);
    assert.equal(a.call('msgqueue_configure_send', [q, -1, -1, -1]).err, GH_ERROR.OK);
    assert.equal(m.notfullThd, 2);
    for (const thd of [4, 5, -3, 0x1_0000_0000n]) {
      assert.equal(a.call('msgqueue_configure_send', [q, thd, -1, -1]).err, GH_ERROR.ARGUMENT_INVALID, `thd ${thd}`);
    }
    assert.equal(m.notfullThd, 2);
  });

  test('configure_receive: thd in [1, depth], -1 keeps it, -2 means depth without re-evaluating RX', () => {
    const { a, q, m, vic } = boundQueue(4);
    sendText(a, q, '1');
    a.call('msgqueue_configure_receive', [q, 2, -1, -1]);
    assert.deepEqual([m.notemptyThd, vic.isPending(RX_VIRQ)], [2, false], 'count 1 < 2 clears RX');
    a.call('msgqueue_configure_receive', [q, 1, -1, -1]);
    assert.equal(vic.isPending(RX_VIRQ), true);
    const asserts = m.receiveVirq.asserts;
    assert.equal(a.call('msgqueue_configure_receive', [q, -2, -1, -1]).err, GH_ERROR.OK);
    assert.deepEqual([m.notemptyThd, vic.isPending(RX_VIRQ), m.receiveVirq.asserts], [4, true, asserts]);
    assert.equal(a.call('msgqueue_configure_receive', [q, -1, -1, -1]).err, GH_ERROR.OK);
    assert.equal(vic.isPending(RX_VIRQ), false, '-1 re-evaluates: 1 < 4');
    for (const thd of [0, 5, -3]) {
      assert.equal(a.call('msgqueue_configure_receive', [q, thd, -1, -1]).err, GH_ERROR.ARGUMENT_INVALID, `thd ${thd}`);
    }
  });

  test('a delay other than -1 is UNIMPLEMENTED; the reserved argument must be -1', () => {
    const { a, q } = boundQueue(4);
    for (const name of ['msgqueue_configure_send', 'msgqueue_configure_receive'] as const) {
      assert.equal(a.call(name, [q, 1, 0, -1]).err, GH_ERROR.UNIMPLEMENTED);
      assert.equal(a.call(name, [q, 1, 1000, -1]).err, GH_ERROR.UNIMPLEMENTED);
      assert.equal(a.call(name, [q, 1, -1, 0]).err, GH_ERROR.ARGUMENT_INVALID);
    }
  });
});

describe('msgqueue_bind_*_virq / msgqueue_unbind_*_virq (spec §4.4)', () => {
  test('binding an end twice is VIRQ_BOUND; a number in use is BUSY; unbind is idempotent', () => {
    const { a, q } = boundQueue(4);
    assert.equal(a.call('msgqueue_bind_send_virq', [q, a.vic, 50, 0]).err, GH_ERROR.VIRQ_BOUND);
    const other = a.msgqueue();
    assert.equal(a.call('msgqueue_bind_receive_virq', [other, a.vic, TX_VIRQ, 0]).err, GH_ERROR.BUSY);
    assert.equal(a.call('msgqueue_unbind_send_virq', [q, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('msgqueue_unbind_send_virq', [q, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('msgqueue_bind_receive_virq', [other, a.vic, TX_VIRQ, 0]).err, GH_ERROR.OK);
  });

  test('private numbers, a vCPU index, and SPIs beyond max_virqs are ARGUMENT_INVALID', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    for (const info of [27, encodeVirqInfo(TX_VIRQ, 1), 1020, 32 + 988]) {
      assert.equal(a.call('msgqueue_bind_send_virq', [q, a.vic, info, 0]).err, GH_ERROR.ARGUMENT_INVALID, `virq_info ${info}`);
    }
  });

  test('each end needs its own bind right and BIND_SOURCE on the vIC', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    const sendOnly = a.grant(q, a, SEND | RECEIVE | BIND_SEND);
    assert.equal(a.call('msgqueue_bind_receive_virq', [sendOnly, a.vic, RX_VIRQ, 0]).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
    assert.equal(a.call('msgqueue_bind_send_virq', [sendOnly, a.vic, TX_VIRQ, 0]).err, GH_ERROR.OK);
    const vicNoBind = a.grant(a.vic, a, right('vic', 'attach_vcpu'));
    assert.equal(a.call('msgqueue_bind_receive_virq', [q, vicNoBind, RX_VIRQ, 0]).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
    assert.equal(a.call('msgqueue_bind_receive_virq', [q, q, RX_VIRQ, 0]).err, GH_ERROR.CSPACE_WRONG_OBJECT_TYPE);
  });

  for (const [name, needs] of [['msgqueue_bind_send_virq', BIND_SEND], ['msgqueue_bind_receive_virq', BIND_RECEIVE]] as const) {
    test(`${name}: cspace errors on the queue`, () => {
      const { a } = hypFixture();
      let spi = 100;
      assertCapErrors(a, {
        name, needs, args: (q) => [q, a.vic, spi++, 0],
        make: () => a.msgqueue(), other: () => a.doorbell(), makeInit: () => a.create('msgqueue'),
      });
    });
  }

  test('object_reset unbinds both ends and returns the queue to INIT, unconfigured', () => {
    const { a, q, m } = boundQueue(4);
    sendText(a, q, 'x');
    assert.equal(a.call('object_reset', [q, 0]).err, GH_ERROR.OK);
    assert.deepEqual([m.sendVirq.bound, m.receiveVirq.bound, m.count, m.depth], [false, false, 0, 0]);
    assert.equal(a.call('object_activate', [q, 0]).err, GH_ERROR.OBJECT_CONFIG);
  });
});
