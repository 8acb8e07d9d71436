// spec §4.3 as a property: random interleavings of send (with and without push), receive, flush, threshold
// configuration and guest interrupt handling, checked step by step against a small reference model — the
// messages, the counts, and the exact vIRQ timing (asserts and pending lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GH_ERROR } from '../../core/abi/errors.js';
import { MSGQ_THRESHOLD } from '../../core/abi/ipc.js';
import { right } from '../../core/abi/objects.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { hypFixture, RAM_BASE } from '../helpers/hyp-fixture.js';

const TX_VIRQ = 40; // in the sender's vIC
const RX_VIRQ = 41; // in the receiver's vIC
const MAX_SIZE = 32;
const SRC = RAM_BASE;
const DST = RAM_BASE + 0x1000;

type Op =
  | { kind: 'send'; size: number; push: boolean }
  | { kind: 'receive' }
  | { kind: 'flush' }
  | { kind: 'configureSend'; thd: number }
  | { kind: 'configureReceive'; thd: number }
  | { kind: 'handleTx' }
  | { kind: 'handleRx' };

const op = (depth: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('send' as const), size: fc.integer({ min: 1, max: MAX_SIZE }), push: fc.boolean() }) },
    { weight: 4, arbitrary: fc.constant({ kind: 'receive' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('configureSend' as const), thd: fc.integer({ min: -2, max: depth }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('configureReceive' as const), thd: fc.integer({ min: -3, max: depth + 1 }) }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'handleTx' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'handleRx' as const }) },
  );

/** One interrupt line as the model sees it: raised by asserts, taken by acknowledge, re-checked at EOI. */
class LineModel {
  asserts = 0;
  pending = false;
  assert(): void {
    this.asserts++;
    this.pending = true;
  }
}

test('msgqueue: delivery, counts and vIRQ timing match the reference model under random interleavings', () => {
  const scenario = fc.integer({ min: 1, max: 6 }).chain((depth) => fc.tuple(fc.constant(depth), fc.array(op(depth), { maxLength: 80 })));
  fc.assert(
    fc.property(scenario, ([depth, ops]) => {
      const { a: sender, b: receiver } = hypFixture();
      const q = receiver.msgqueue(depth, MAX_SIZE);
      const tx = receiver.grant(q, sender, right('msgqueue', 'send') | right('msgqueue', 'bind_send'));
      assert.equal(sender.call('msgqueue_bind_send_virq', [tx, sender.vic, TX_VIRQ, 0]).err, GH_ERROR.OK);
      assert.equal(receiver.call('msgqueue_bind_receive_virq', [q, receiver.vic, RX_VIRQ, 0]).err, GH_ERROR.OK);
      const msgq = receiver.object<Msgqueue>(q);
      const txVic = sender.vm.vic;
      const rxVic = receiver.vm.vic;

      // The model.
      const queue: Uint8Array[] = [];
      let notfull = depth - 1;
      let notempty = 1;
      let flushed = 0;
      let serial = 0;
      const txLine = new LineModel();
      const rxLine = new LineModel();

      for (const o of ops) {
        switch (o.kind) {
          case 'send': {
            const payload = Uint8Array.from({ length: o.size }, (_, i) => (serial * 31 + i) & 0xff);
            serial++;
            sender.vm.memory.writeBytes(SRC, payload);
            const r = sender.call('msgqueue_send', [tx, o.size, SRC, o.push ? 1 : 0, 0]);
            if (queue.length === depth) {
              assert.deepEqual([r.err, r.x[1]], [GH_ERROR.MSGQUEUE_FULL, 0n]);
              break;
            }
            queue.push(payload);
            if (o.push || queue.length === notempty) rxLine.assert();
            assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, queue.length !== depth ? 1n : 0n]);
            break;
          }
          case 'receive': {
            const r = receiver.call('msgqueue_receive', [q, DST, MAX_SIZE, 0]);
            const expected = queue.shift();
            if (expected === undefined) {
              assert.deepEqual([r.err, r.x[1], r.x[2]], [GH_ERROR.MSGQUEUE_EMPTY, 0n, 0n]);
              break;
            }
            if (queue.length === notfull) txLine.assert();
            assert.deepEqual([r.err, r.x[1], r.x[2]], [GH_ERROR.OK, BigInt(expected.length), queue.length !== 0 ? 1n : 0n]);
            assert.deepEqual(receiver.vm.memory.readBytes(DST, expected.length), expected, 'delivered in order, unchanged');
            break;
          }
          case 'flush':
            assert.equal(receiver.call('msgqueue_flush', [q, 0]).err, GH_ERROR.OK);
            if (queue.length > 0) {
              txLine.assert();
              rxLine.pending = false;
            }
            flushed += queue.length;
            queue.length = 0;
            break;
          case 'configureSend': {
            const r = sender.call('msgqueue_configure_send', [tx, o.thd, -1, -1]);
            const valid = o.thd === MSGQ_THRESHOLD.UNCHANGED || (o.thd >= 0 && o.thd < depth);
            assert.equal(r.err, valid ? GH_ERROR.OK : GH_ERROR.ARGUMENT_INVALID, `notfull ${o.thd}`);
            if (!valid) break;
            if (o.thd !== MSGQ_THRESHOLD.UNCHANGED) notfull = o.thd;
            if (queue.length <= notfull) txLine.assert();
            else txLine.pending = false;
            break;
          }
          case 'configureReceive': {
            const r = receiver.call('msgqueue_configure_receive', [q, o.thd, -1, -1]);
            const valid = o.thd === MSGQ_THRESHOLD.UNCHANGED || o.thd === MSGQ_THRESHOLD.DEPTH || (o.thd >= 1 && o.thd <= depth);
            assert.equal(r.err, valid ? GH_ERROR.OK : GH_ERROR.ARGUMENT_INVALID, `notempty ${o.thd}`);
            if (!valid) break;
            if (o.thd === MSGQ_THRESHOLD.DEPTH) {
              notempty = depth; // spec §4.3: the -2 path does not re-evaluate the line
              break;
            }
            if (o.thd !== MSGQ_THRESHOLD.UNCHANGED) notempty = o.thd;
            if (queue.length >= notempty) rxLine.assert();
            else rxLine.pending = false;
            break;
          }
          case 'handleTx':
          case 'handleRx': {
            // The guest takes the interrupt and ends it; a level line whose condition holds is pending again.
            const [vic, virq, line, holds] = o.kind === 'handleTx'
              ? [txVic, TX_VIRQ, txLine, queue.length <= notfull]
              : [rxVic, RX_VIRQ, rxLine, queue.length >= notempty];
            assert.equal(vic.acknowledge(0), line.pending ? virq : -1);
            if (!line.pending) break;
            vic.endOfInterrupt(virq);
            line.pending = holds;
            break;
          }
        }
        assert.equal(msgq.count, queue.length);
        assert.equal(msgq.count, msgq.sent - msgq.received - flushed, 'count == sent - received - flushed');
        assert.deepEqual([msgq.notfullThd, msgq.notemptyThd], [notfull, notempty]);
        assert.deepEqual([msgq.sendVirq.asserts, txVic.isPending(TX_VIRQ)], [txLine.asserts, txLine.pending], 'TX line');
        assert.deepEqual([msgq.receiveVirq.asserts, rxVic.isPending(RX_VIRQ)], [rxLine.asserts, rxLine.pending], 'RX line');
      }
      assert.deepEqual(msgq.peekAll().map((m) => Uint8Array.from(m)), queue, 'nothing lost or duplicated');
    }),
    { seed: 0x4d5147, numRuns: 300 },
  );
});
