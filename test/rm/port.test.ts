import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { HC } from '../../core/abi/hypercalls.js';
import { right } from '../../core/abi/objects.js';
import { MsgqPort } from '../../core/rm/port.js';
import { VirqRouter } from '../../core/rm/virq-router.js';
import { hypFixture, RAM_BASE, type FixtureVm } from '../helpers/hyp-fixture.js';

const TX_VIRQ = 35;
const RX_VIRQ = 36;
const SEND = right('msgqueue', 'send');
const RECEIVE = right('msgqueue', 'receive');
const ALL = 0xffffffff;

/** A queue pair between VMs a and b set up with hypercalls from a, as the RM sets up a link (spec §4.5). */
function linkedPorts(depth = 8) {
  const f = hypFixture({ vms: 2 });
  const { a, b } = f;
  const bVicInA = b.grant(b.vic, a, ALL);
  const aToB = a.msgqueue(depth, 240);
  const bToA = a.msgqueue(depth, 240);
  const bind = (vm: FixtureVm, call: 'msgqueue_bind_send_virq' | 'msgqueue_bind_receive_virq', q: bigint, vic: bigint, virq: number) =>
    assert.equal(vm.call(call, [q, vic, virq, 0]).err, GH_ERROR.OK, call);
  // a's ends, bound on a's vIC.
  bind(a, 'msgqueue_bind_send_virq', aToB, a.vic, TX_VIRQ);
  bind(a, 'msgqueue_bind_receive_virq', bToA, a.vic, RX_VIRQ);
  // b's ends, bound by a with its master caps on b's vIC; b holds only SEND / RECEIVE copies.
  bind(a, 'msgqueue_bind_send_virq', bToA, bVicInA, TX_VIRQ);
  bind(a, 'msgqueue_bind_receive_virq', aToB, bVicInA, RX_VIRQ);
  const bTx = a.grant(bToA, b, SEND);
  const bRx = a.grant(aToB, b, RECEIVE);
  const portA = new MsgqPort(a.vcpu, { txCapid: aToB, rxCapid: bToA, txVirq: TX_VIRQ, rxVirq: RX_VIRQ }, RAM_BASE);
  const portB = new MsgqPort(b.vcpu, { txCapid: bTx, rxCapid: bRx, txVirq: TX_VIRQ, rxVirq: RX_VIRQ }, RAM_BASE);
  return { f, a, b, portA, portB };
}

const bytes = (...v: number[]) => Uint8Array.from(v);
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a packet sent by one port reaches the other through its RX vIRQ, as real hypercalls', async () => {
  const { f, portA, portB } = linkedPorts();
  const got: Uint8Array[] = [];
  portB.onPacket = (p) => got.push(p);
  const sendsBefore = f.hyp.stats.total(HC.msgqueue_send);
  const receivesBefore = f.hyp.stats.total(HC.msgqueue_receive);
  assert.equal(portA.send(bytes(0x21, 1, 2, 3), false), GH_ERROR.OK);
  assert.equal(got.length, 0, 'delivery waits for the interrupt');
  await settle();
  assert.deepEqual(got, [bytes(0x21, 1, 2, 3)]);
  assert.equal(f.hyp.stats.total(HC.msgqueue_send) - sendsBefore, 1);
  // one receive returned the packet with not_empty = 0, so the port stopped there
  assert.equal(f.hyp.stats.total(HC.msgqueue_receive) - receivesBefore, 1);
  assert.equal(portB.stats.rxInterrupts, 1);
  assert.equal(portB.stats.packetsReceived, 1);
});

test('without push only the first packet into an empty queue raises RX; the port drains all while not_empty', async () => {
  const { portA, portB } = linkedPorts();
  const got: number[] = [];
  portB.onPacket = (p) => got.push(p[0]!);
  for (const n of [1, 2, 3]) assert.equal(portA.send(bytes(n), false), GH_ERROR.OK);
  await settle();
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(portB.stats.rxInterrupts, 1);
});

test('push raises RX on a queue that is not empty', async () => {
  const { portA, portB } = linkedPorts();
  const rx = portB.vm.vic;
  assert.equal(portA.send(bytes(1), false), GH_ERROR.OK);
  rx.lower(rx.sourceOf(RX_VIRQ)!); // the guest acknowledged but has not drained yet
  assert.equal(portA.send(bytes(2), false), GH_ERROR.OK);
  assert.equal(rx.isPending(RX_VIRQ), false, 'no push, count 2: no new interrupt');
  assert.equal(portA.send(bytes(3), true), GH_ERROR.OK);
  assert.equal(rx.isPending(RX_VIRQ), true, 'push asserts the receive vIRQ');
});

test('receive on an empty queue is MSGQUEUE_EMPTY and clears notEmpty', () => {
  const { portB } = linkedPorts();
  assert.equal(portB.receive(), GH_ERROR.MSGQUEUE_EMPTY);
  assert.equal(portB.notEmpty, false);
});

test('a full queue refuses with MSGQUEUE_FULL; waitTxReady resolves when the receiver drains it', async () => {
  const { portA, portB } = linkedPorts(2);
  assert.equal(portA.send(bytes(1)), GH_ERROR.OK);
  assert.equal(portA.notFull, true);
  assert.equal(portA.send(bytes(2)), GH_ERROR.OK);
  assert.equal(portA.notFull, false, 'not_full = 0 once the queue holds depth messages');
  assert.equal(portA.send(bytes(3)), GH_ERROR.MSGQUEUE_FULL);
  assert.equal(portA.stats.fullRejects, 1);
  let ready = false;
  const waiting = portA.waitTxReady().then(() => (ready = true));
  await settle();
  assert.equal(ready, false, 'nothing drained yet');
  const got: number[] = [];
  portB.onPacket = (p) => got.push(p[0]!);
  portB.drain();
  await waiting;
  assert.equal(ready, true);
  assert.deepEqual(got, [1, 2]);
  assert.equal(portA.stats.txInterrupts, 1, 'TX fires once, when the full queue drops to depth - 1');
  assert.equal(portA.send(bytes(3)), GH_ERROR.OK);
});

test('an aborted wait resolves at once and leaves no waiter behind', async () => {
  const { portA } = linkedPorts();
  const ac = new AbortController();
  const waiting = portA.waitRxPending(ac.signal);
  ac.abort();
  await waiting;
  await portA.waitTxReady(ac.signal); // already aborted: resolves immediately
});

test('oversized packets are ARGUMENT_SIZE from the hypervisor (240-byte RM queues)', () => {
  const { portA } = linkedPorts();
  assert.equal(portA.send(new Uint8Array(241)), GH_ERROR.ARGUMENT_SIZE);
  assert.equal(portA.send(new Uint8Array(0)), GH_ERROR.ARGUMENT_SIZE);
});

test('a buffer page the VM cannot write makes send ADDR_INVALID', () => {
  const { a } = linkedPorts();
  const port = new MsgqPort(a.vcpu, { txCapid: 0n, rxCapid: 0n, txVirq: 40, rxVirq: 41 }, 0x10_0000_0000);
  assert.equal(port.send(bytes(1)), GH_ERROR.ADDR_INVALID);
});

test('close stops delivery; packets stay queued for whoever drains next', async () => {
  const { portA, portB } = linkedPorts();
  const got: number[] = [];
  portB.onPacket = (p) => got.push(p[0]!);
  portB.close();
  assert.equal(portA.send(bytes(7)), GH_ERROR.OK);
  await settle();
  assert.deepEqual(got, []);
  const p = portB.receive();
  assert.ok(p instanceof Uint8Array);
  assert.equal(p[0], 7);
});

test('the router keeps an onPending hook installed before it', async () => {
  const f = hypFixture({ vms: 2 });
  let woken = 0;
  f.b.vm.vic.onPending = () => woken++;
  const bVicInA = f.b.grant(f.b.vic, f.a, ALL);
  const q = f.a.msgqueue();
  assert.equal(f.a.call('msgqueue_bind_receive_virq', [q, bVicInA, RX_VIRQ, 0]).err, GH_ERROR.OK);
  const rx = f.a.grant(q, f.b, RECEIVE);
  const port = new MsgqPort(f.b.vcpu, { txCapid: 0n, rxCapid: rx, txVirq: TX_VIRQ, rxVirq: RX_VIRQ }, RAM_BASE);
  const got: number[] = [];
  port.onPacket = (p) => got.push(p[0]!);
  f.a.vm.memory.writeBytes(RAM_BASE, bytes(9));
  assert.equal(f.a.call('msgqueue_send', [q, 1, RAM_BASE, 0, 0]).err, GH_ERROR.OK);
  await settle();
  assert.equal(woken, 1);
  assert.deepEqual(got, [9]);
});

test("an exclusive router (the RM's) acknowledges lines in arrival order and ignores lines nobody claimed", async () => {
  const f = hypFixture({ vms: 2 });
  const router = VirqRouter.exclusive(f.b.vm.vic);
  assert.equal(VirqRouter.of(f.b.vm.vic), router, 'ports on that VM use it');
  assert.equal(router.isExclusive, true);
  const bVicInA = f.b.grant(f.b.vic, f.a, ALL);
  const queues = [40, 41, 42].map((virq) => {
    const q = f.a.msgqueue();
    assert.equal(f.a.call('msgqueue_bind_receive_virq', [q, bVicInA, virq, 0]).err, GH_ERROR.OK);
    return q;
  });
  const order: number[] = [];
  router.claim(42, () => order.push(42));
  router.claim(40, () => order.push(40));
  f.a.vm.memory.writeBytes(RAM_BASE, bytes(1));
  for (const i of [2, 1, 0]) assert.equal(f.a.call('msgqueue_send', [queues[i]!, 1, RAM_BASE, 0, 0]).err, GH_ERROR.OK);
  await settle();
  assert.deepEqual(order, [42, 40], 'arrival order; 41 has no handler');
  assert.equal(f.b.vm.vic.isPending(41), false, 'acknowledged all the same');
  assert.equal(VirqRouter.of(f.a.vm.vic).isExclusive, false);
});
