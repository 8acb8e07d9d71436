// spec §5: doorbells through their hypercalls — flags, masks, the bound vIRQ in both usage modes, rights and errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GH_ERROR } from '../../core/abi/errors.js';
import { right, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import { encodeVirqInfo } from '../../core/abi/virq.js';
import type { Doorbell } from '../../core/ipc/doorbell.js';
import { assertCapErrors, hypFixture, type FixtureVm } from '../helpers/hyp-fixture.js';

const ALL = 0xffff_ffff_ffff_ffffn;
const SPI = 40;
const SEND = right('doorbell', 'send');
const RECEIVE = right('doorbell', 'receive');
const BIND = right('doorbell', 'bind');

/** A doorbell in VM a, its vIRQ bound to SPI 40 of a's vIC. */
function boundDoorbell(edge = false) {
  const fx = hypFixture();
  const { a } = fx;
  const db = a.doorbell();
  a.vm.vic.setEdgeTriggered(SPI, edge);
  assert.equal(a.call('doorbell_bind_virq', [db, a.vic, SPI, 0]).err, GH_ERROR.OK);
  return { ...fx, db, bell: a.object<Doorbell>(db), vic: a.vm.vic };
}

const send = (vm: FixtureVm, db: bigint, flags: bigint) => vm.call('doorbell_send', [db, flags, 0]);
const receive = (vm: FixtureVm, db: bigint, clear: bigint) => vm.call('doorbell_receive', [db, clear, 0]);
const mask = (vm: FixtureVm, db: bigint, enable: bigint, ack: bigint) => vm.call('doorbell_mask', [db, enable, ack, 0]);

describe('doorbell state and flags (spec §5)', () => {
  test('a new doorbell has flags 0, enable_mask all ones and ack_mask 0', () => {
    const { a } = hypFixture();
    const bell = a.object<Doorbell>(a.doorbell());
    assert.equal(bell.flags, 0n);
    assert.equal(bell.enableMask, ALL);
    assert.equal(bell.ackMask, 0n);
    assert.equal(bell.virq.bound, false);
  });

  test('send ORs new_flags into all 64 bits and returns the flags before the OR', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const first = send(a, db, 0x8000_0000_0000_0001n);
    assert.deepEqual([first.err, first.x[1]], [GH_ERROR.OK, 0n]);
    const second = send(a, db, 0x0000_0001_0000_0004n);
    assert.deepEqual([second.err, second.x[1]], [GH_ERROR.OK, 0x8000_0000_0000_0001n]);
    assert.equal(a.object<Doorbell>(db).flags, 0x8000_0001_0000_0005n);
  });

  test('send with no flags leaves the flags and still answers OK with the old flags', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    send(a, db, 6n);
    const r = send(a, db, 0n);
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, 6n]);
    assert.equal(a.object<Doorbell>(db).flags, 6n);
  });

  test('receive returns the old flags and clears only clear_flags', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    send(a, db, 0x1_0000_000fn);
    const r = receive(a, db, 0x1_0000_0003n);
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, 0x1_0000_000fn]);
    assert.equal(a.object<Doorbell>(db).flags, 0xcn);
  });

  test('receive with clear_flags 0 is ARGUMENT_INVALID and changes nothing', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    send(a, db, 3n);
    const r = receive(a, db, 0n);
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.ARGUMENT_INVALID, 0n]);
    assert.equal(a.object<Doorbell>(db).flags, 3n);
    assert.equal(a.object<Doorbell>(db).receives, 0);
  });

  test('the native convention (hvc 0x6012) rings the same doorbell', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    assert.equal(a.call('doorbell_send', [db, 5n, 0], 'native').err, GH_ERROR.OK);
    const r = a.call('doorbell_receive', [db, ALL, 0], 'native');
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, 5n]);
  });

  test('reset clears the vIRQ and restores flags 0, ack_mask 0, enable_mask all ones; the vIRQ stays bound', () => {
    const { a, db, bell, vic } = boundDoorbell();
    mask(a, db, 0xffn, 0xf0n);
    send(a, db, 0x3n);
    assert.equal(vic.isPending(SPI), true);
    assert.equal(a.call('doorbell_reset', [db, 0]).err, GH_ERROR.OK);
    assert.equal(vic.isPending(SPI), false);
    assert.deepEqual([bell.flags, bell.enableMask, bell.ackMask, bell.virq.bound], [0n, ALL, 0n, true]);
  });

  test('counters: sends, receives and level asserts', () => {
    const { a, db, bell } = boundDoorbell();
    send(a, db, 1n);
    send(a, db, 2n);
    mask(a, db, 0n, 0n);
    send(a, db, 4n); // nothing enabled: an edge-only assert, not counted
    receive(a, db, ALL);
    assert.deepEqual([bell.sends, bell.receives, bell.asserts], [3, 1, 2]);
    assert.equal(bell.virq.asserts, 3);
  });
});

describe('doorbell vIRQ in the two usage modes of spec §5', () => {
  test('simple edge source: with default masks every send raises an edge line once', () => {
    const { a, db, vic } = boundDoorbell(true);
    send(a, db, 1n);
    assert.equal(vic.acknowledge(0), SPI);
    vic.endOfInterrupt(SPI);
    assert.equal(vic.isPending(SPI), false, 'an edge line is not re-raised at EOI');
    send(a, db, 1n);
    assert.equal(vic.isPending(SPI), true, 'the next ring raises it again');
    const r = receive(a, db, ALL);
    assert.equal(r.x[1], 1n);
  });

  test('simple source on a level line: pending until the receiver clears the enabled flags', () => {
    const { a, db, vic } = boundDoorbell(false);
    send(a, db, 1n);
    assert.equal(vic.acknowledge(0), SPI);
    vic.endOfInterrupt(SPI);
    assert.equal(vic.isPending(SPI), true, 'level: flags still set, pending again');
    vic.acknowledge(0);
    receive(a, db, 1n);
    assert.equal(vic.isPending(SPI), false);
    vic.endOfInterrupt(SPI);
    assert.equal(vic.isPending(SPI), false, 'flags clear: de-asserted at EOI');
  });

  test('bitmask with auto-ack (mask(1, 1)): send(1) asserts and clears bit 0 at once', () => {
    const { a, db, bell, vic } = boundDoorbell(false);
    assert.equal(mask(a, db, 1n, 1n).err, GH_ERROR.OK);
    const r = send(a, db, 1n);
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, 0n]);
    assert.equal(bell.flags, 0n, 'bit 0 acked automatically');
    assert.equal(vic.acknowledge(0), SPI);
    vic.endOfInterrupt(SPI);
    assert.equal(vic.isPending(SPI), false, 'the line de-asserts once handled');
  });

  test('bitmask with auto-ack: a new send before handling keeps the line asserted', () => {
    const { a, db, bell, vic } = boundDoorbell(false);
    mask(a, db, 1n, 1n);
    send(a, db, 1n);
    send(a, db, 1n);
    assert.equal(vic.isPending(SPI), true);
    assert.equal(bell.asserts, 2);
    assert.equal(vic.acknowledge(0), SPI);
    assert.equal(vic.acknowledge(0), -1, 'one pending interrupt, not two');
  });

  test('flags outside enable_mask give an edge-only assert: seen on an edge line, not on a level line', () => {
    for (const edge of [false, true]) {
      const { a, db, bell, vic } = boundDoorbell(edge);
      mask(a, db, 2n, 0n);
      send(a, db, 1n);
      assert.equal(vic.isPending(SPI), edge, edge ? 'edge line' : 'level line');
      assert.equal(bell.flags, 1n, 'no ack without enabled flags');
    }
  });

  test('receive does not lower a pending level line; end of interrupt does', () => {
    const { a, db, vic } = boundDoorbell(false);
    send(a, db, 1n);
    receive(a, db, 1n);
    assert.equal(vic.isPending(SPI), true, 'lazy de-assertion');
    vic.acknowledge(0);
    vic.endOfInterrupt(SPI);
    assert.equal(vic.isPending(SPI), false);
  });

  test('one VM rings, another VM takes the interrupt (caps with SEND and RECEIVE|BIND)', () => {
    const { a, b } = hypFixture();
    const db = a.doorbell();
    const tx = a.grant(db, b, SEND);
    const rx = db;
    assert.equal(a.call('doorbell_bind_virq', [rx, a.vic, encodeVirqInfo(SPI), 0]).err, GH_ERROR.OK);
    assert.equal(send(b, tx, 0x10n).err, GH_ERROR.OK);
    assert.equal(a.vm.vic.isPending(SPI), true);
    assert.equal(receive(b, tx, 0x10n).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
    assert.equal(receive(a, rx, 0x10n).x[1], 0x10n);
  });
});

describe('doorbell_mask was/now arithmetic (spec §5 table)', () => {
  test('was and not now: the vIRQ is cleared, flags kept', () => {
    const { a, db, bell, vic } = boundDoorbell();
    send(a, db, 1n);
    mask(a, db, 2n, 1n);
    assert.deepEqual([vic.isPending(SPI), bell.flags], [false, 1n]);
  });

  test('not was and now: the vIRQ is asserted and the new ack_mask applied', () => {
    const { a, db, bell, vic } = boundDoorbell();
    mask(a, db, 0n, 0n);
    send(a, db, 3n);
    assert.equal(vic.isPending(SPI), false);
    mask(a, db, 1n, 2n);
    assert.deepEqual([vic.isPending(SPI), bell.flags, bell.asserts], [true, 1n, 1]);
  });

  test('was and now: ack_mask applied without a new assert', () => {
    const { a, db, bell } = boundDoorbell();
    send(a, db, 3n);
    mask(a, db, ALL, 1n);
    assert.deepEqual([bell.flags, bell.asserts, bell.enableMask, bell.ackMask], [2n, 1, ALL, 1n]);
  });

  test('neither: masks stored, flags and line untouched', () => {
    const { a, db, bell, vic } = boundDoorbell();
    mask(a, db, 0x0f00_0000_0000_0000n, 3n);
    assert.deepEqual([bell.flags, bell.enableMask, bell.ackMask, vic.isPending(SPI)], [0n, 0x0f00_0000_0000_0000n, 3n, false]);
  });

  test('property: send/receive/mask/reset match a BigInt reference model (level line, guest EOIs at random)', () => {
    const u64 = fc.bigInt({ min: 0n, max: ALL });
    const sparse = fc.oneof(u64, fc.constantFrom(0n, 1n, 2n, 3n, 1n << 63n, ALL));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), v: sparse }),
      fc.record({ kind: fc.constant('receive' as const), v: sparse }),
      fc.record({ kind: fc.constant('mask' as const), v: sparse, w: sparse }),
      fc.record({ kind: fc.constant('reset' as const) }),
      fc.record({ kind: fc.constant('eoi' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { a, db, bell, vic } = boundDoorbell(false);
        const m = { flags: 0n, enable: ALL, ack: 0n, pending: false, asserts: 0 };
        for (const o of ops) {
          if (o.kind === 'send') {
            const old = m.flags;
            m.flags |= o.v;
            if ((m.flags & m.enable) !== 0n) {
              m.pending = true;
              m.asserts++;
              m.flags &= ~m.ack;
            }
            const r = send(a, db, o.v);
            assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, old]);
          } else if (o.kind === 'receive') {
            const r = receive(a, db, o.v);
            if (o.v === 0n) assert.equal(r.err, GH_ERROR.ARGUMENT_INVALID);
            else {
              assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, m.flags]);
              m.flags &= ~o.v;
            }
          } else if (o.kind === 'mask') {
            const was = (m.flags & m.enable) !== 0n;
            const now = (m.flags & o.v) !== 0n;
            m.enable = o.v;
            m.ack = o.w;
            if (was && !now) m.pending = false;
            if (now) m.flags &= ~m.ack;
            if (!was && now) {
              m.pending = true;
              m.asserts++;
            }
            assert.equal(mask(a, db, o.v, o.w).err, GH_ERROR.OK);
          } else if (o.kind === 'reset') {
            Object.assign(m, { flags: 0n, enable: ALL, ack: 0n, pending: false });
            assert.equal(a.call('doorbell_reset', [db, 0]).err, GH_ERROR.OK);
          } else if (m.pending) {
            assert.equal(vic.acknowledge(0), SPI);
            vic.endOfInterrupt(SPI);
            m.pending = (m.flags & m.enable) !== 0n;
          }
          assert.deepEqual(
            [bell.flags, bell.enableMask, bell.ackMask, vic.isPending(SPI), bell.asserts],
            [m.flags, m.enable, m.ack, m.pending, m.asserts],
          );
        }
      }),
      { seed: 0xd00b, numRuns: 300 },
    );
  });
});

describe('doorbell_bind_virq / doorbell_unbind_virq (spec §5, §8.1)', () => {
  test('binding twice is VIRQ_BOUND', () => {
    const { a, db } = boundDoorbell();
    assert.equal(a.call('doorbell_bind_virq', [db, a.vic, SPI + 1, 0]).err, GH_ERROR.VIRQ_BOUND);
  });

  test('a vIRQ number another source holds is BUSY', () => {
    const { a } = boundDoorbell();
    const other = a.doorbell();
    assert.equal(a.call('doorbell_bind_virq', [other, a.vic, SPI, 0]).err, GH_ERROR.BUSY);
  });

  test('private, out-of-range and malformed numbers are ARGUMENT_INVALID', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const bad = [
      20, // a PPI: doorbells are shared sources
      1060, // an extended PPI
      3, // an SGI
      encodeVirqInfo(SPI, 1), // a vCPU index on a shared line
      1020, // between SPI and extended PPI
      0x1_0000_0000n + BigInt(SPI), // bits 63:32 set
    ];
    for (const info of bad) {
      assert.equal(a.call('doorbell_bind_virq', [db, a.vic, info, 0]).err, GH_ERROR.ARGUMENT_INVALID, `virq_info ${info}`);
    }
  });

  test('an SPI beyond the vIC max_virqs is ARGUMENT_INVALID; an extended SPI is accepted', () => {
    const { a } = hypFixture();
    const vic = a.create('vic');
    assert.equal(a.call('vic_configure', [vic, 1, 8, 0, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('object_activate', [vic, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('doorbell_bind_virq', [a.doorbell(), vic, 40, 0]).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(a.call('doorbell_bind_virq', [a.doorbell(), vic, 39, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('doorbell_bind_virq', [a.doorbell(), vic, 4096, 0]).err, GH_ERROR.OK);
  });

  test('unbind is idempotent and frees the number; a ring after unbind raises nothing', () => {
    const { a, db, vic } = boundDoorbell();
    assert.equal(a.call('doorbell_unbind_virq', [db, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('doorbell_unbind_virq', [db, 0]).err, GH_ERROR.OK);
    send(a, db, 1n);
    assert.equal(vic.isPending(SPI), false);
    assert.equal(a.call('doorbell_bind_virq', [a.doorbell(), a.vic, SPI, 0]).err, GH_ERROR.OK);
  });

  test('unbinding drops a pending interrupt', () => {
    const { a, db, vic } = boundDoorbell();
    send(a, db, 1n);
    a.call('doorbell_unbind_virq', [db, 0]);
    assert.equal(vic.isPending(SPI), false);
  });

  test('object_reset unbinds the vIRQ and restores the defaults; the doorbell is INIT again', () => {
    const { a, db, bell, vic } = boundDoorbell();
    mask(a, db, 1n, 1n);
    send(a, db, 2n);
    assert.equal(a.call('object_reset', [db, 0]).err, GH_ERROR.OK);
    assert.deepEqual([bell.virq.bound, bell.flags, bell.enableMask, bell.ackMask, vic.isPending(SPI)], [false, 0n, ALL, 0n, false]);
    assert.equal(send(a, db, 1n).err, GH_ERROR.OBJECT_STATE);
  });
});

describe('doorbell errors: rights, types, capids, state', () => {
  const calls = [
    { name: 'doorbell_send', args: (db: bigint) => [db, 1n, 0], needs: SEND },
    { name: 'doorbell_receive', args: (db: bigint) => [db, 1n, 0], needs: RECEIVE },
    { name: 'doorbell_reset', args: (db: bigint) => [db, 0], needs: RECEIVE },
    { name: 'doorbell_mask', args: (db: bigint) => [db, 1n, 0n, 0], needs: RECEIVE },
    { name: 'doorbell_unbind_virq', args: (db: bigint) => [db, 0], needs: BIND },
  ] as const;

  for (const c of calls) {
    test(`${c.name}: each missing right is INSUFFICIENT_RIGHTS, the needed one suffices`, () => {
      const { a } = hypFixture();
      const db = a.doorbell();
      const without = a.grant(db, a, (SEND | RECEIVE | BIND | RIGHT_ACTIVATE) & ~c.needs);
      assert.equal(a.call(c.name, c.args(without)).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
      const only = a.grant(db, a, c.needs);
      assert.equal(a.call(c.name, c.args(only)).err, GH_ERROR.OK);
    });

    test(`${c.name}: wrong type, empty slot, revoked cap, undecodable capid, missing right, INIT doorbell`, () => {
      const { a } = hypFixture();
      assertCapErrors(a, { ...c, make: () => a.doorbell(), other: () => a.msgqueue(), makeInit: () => a.create('doorbell') });
    });
  }

  test('doorbell_bind_virq needs BIND on the doorbell and BIND_SOURCE on the vIC', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const noBind = a.grant(db, a, SEND | RECEIVE);
    assert.equal(a.call('doorbell_bind_virq', [noBind, a.vic, SPI, 0]).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
    const vicNoBind = a.grant(a.vic, a, right('vic', 'attach_vcpu'));
    assert.equal(a.call('doorbell_bind_virq', [db, vicNoBind, SPI, 0]).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
    assert.equal(a.call('doorbell_bind_virq', [db, db, SPI, 0]).err, GH_ERROR.CSPACE_WRONG_OBJECT_TYPE);
    assert.equal(a.call('doorbell_bind_virq', [db, a.vic, SPI, 7]).err, GH_ERROR.ARGUMENT_INVALID);
  });

  test('another VM\'s capid never reaches this VM\'s doorbell', () => {
    const { a, b } = hypFixture();
    const db = a.doorbell();
    const r = send(b, db, 1n);
    assert.ok(r.err === GH_ERROR.ARGUMENT_INVALID || r.err === GH_ERROR.CSPACE_CAP_NULL, `got ${r.err}`);
    assert.equal(a.object<Doorbell>(db).sends, 0);
  });
});
