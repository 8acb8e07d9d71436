// spec §1.4: capability spaces (capid encoding, isolation between VMs, delete/copy/revoke/configure) and the
// partition_create_* and object lifecycle calls that fill them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GH_ERROR } from '../../core/abi/errors.js';
import { allRights, CAPID_INVALID, CSPACE_BASE_HI_LIMIT, OBJECT_STATE, right, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import { CSpace } from '../../core/hyp/cspace.js';
import type { HypObject } from '../../core/hyp/object.js';
import { Prng } from '../../core/hyp/prng.js';
import type { Doorbell } from '../../core/ipc/doorbell.js';
import { assertCapErrors, hypFixture, type FixtureVm } from '../helpers/hyp-fixture.js';

const CAP_CREATE = right('cspace', 'cap_create');
const CAP_DELETE = right('cspace', 'cap_delete');
const CAP_COPY = right('cspace', 'cap_copy');
const CAP_REVOKE = right('cspace', 'cap_revoke');
const split = (capid: bigint): [number, number] => [Number(capid & 0xffffffffn), Number(capid >> 32n)];

describe('capid encoding (spec §1.4, H-CS)', () => {
  test('with randomizeCapids: false, capids are slot numbers', () => {
    const { a } = hypFixture({ randomizeCapids: false });
    assert.deepEqual([a.partition, a.cspace, a.vic], [0n, 1n, 2n]);
    assert.deepEqual([a.doorbell(), a.create('msgqueue')], [3n, 4n]);
  });

  test('the same seed gives the same capids; another seed gives others', () => {
    const capids = (seed: number) => {
      const { a, b } = hypFixture({ seed });
      return [a.partition, a.cspace, a.vic, a.doorbell(), b.partition, b.msgqueue()];
    };
    assert.deepEqual(capids(7), capids(7));
    assert.notDeepEqual(capids(7), capids(8));
  });

  test('capids never have the top word 0xFFFFFFFF, and never equal CSPACE_CAP_INVALID', () => {
    for (let seed = 0; seed < 2000; seed++) {
      const cspace = new CSpace(1, new Prng(seed));
      assert.ok(cspace.baseHi < CSPACE_BASE_HI_LIMIT, `seed ${seed}`);
      for (const slot of [0, 1, 255, 256, 65535]) assert.notEqual(cspace.capid(slot), CAPID_INVALID);
    }
  });

  test('decoding inverts encoding for every slot; other capids do not decode', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 0xffff }), fc.bigInt({ min: 0n, max: CAPID_INVALID }), (seed, slot, junk) => {
        const cspace = new CSpace(1, new Prng(seed));
        assert.equal(cspace.slotOf(cspace.capidLo(slot), cspace.baseHi), slot);
        const [lo, hi] = split(junk);
        const decoded = cspace.slotOf(lo, hi);
        if (decoded >= 0) assert.equal(cspace.capid(decoded), junk);
        // The same low word under the cspace's own top word: decodes exactly when it is slot * mult XOR base.
        const near = cspace.slotOf(lo, cspace.baseHi);
        const base = cspace.capidLo(0), mult = (cspace.capidLo(1) ^ base) >>> 0, v = (lo ^ base) >>> 0;
        const exact = v % mult === 0 && v / mult <= 0xffff ? v / mult : -1;
        assert.equal(near, exact);
      }),
      { seed: 0xc5, numRuns: 2000 },
    );
  });

  test('a random capid names nothing, or one of the caller\'s own caps: never an exception', () => {
    const { a, b } = hypFixture();
    const theirs = b.doorbell();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: CAPID_INVALID }), (capid) => {
        const r = a.call('doorbell_send', [capid, 1n, 0]);
        assert.ok([GH_ERROR.ARGUMENT_INVALID, GH_ERROR.CSPACE_CAP_NULL, GH_ERROR.CSPACE_WRONG_OBJECT_TYPE].includes(r.err as never));
      }),
      { seed: 0xca9, numRuns: 2000 },
    );
    assert.equal(b.object<Doorbell>(theirs).sends, 0);
  });
});

describe('isolation: a VM cannot use another VM\'s capid', () => {
  test('with randomised capids another cspace\'s capid does not decode (ARGUMENT_INVALID)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { a, b } = hypFixture({ seed });
      const theirs = b.doorbell();
      assert.equal(a.call('doorbell_send', [theirs, 1n, 0]).err, GH_ERROR.ARGUMENT_INVALID, `seed ${seed}`);
      assert.equal(b.object<Doorbell>(theirs).sends, 0);
    }
  });

  test('with slot-number capids a slot the caller does not hold is CAP_NULL, one it holds is its own object', () => {
    const { a, b } = hypFixture({ randomizeCapids: false });
    const mine = a.doorbell(); // slot 3 in a
    b.doorbell();
    const theirs = b.doorbell(); // slot 4 in b
    assert.equal(a.call('doorbell_send', [theirs, 1n, 0]).err, GH_ERROR.CSPACE_CAP_NULL);
    const sameSlot = b.vm.cspace.capid(3);
    assert.equal(a.call('doorbell_send', [sameSlot, 1n, 0]).err, GH_ERROR.OK);
    assert.equal(a.object<Doorbell>(mine).sends, 1, 'slot 3 of a is a\'s own doorbell');
    assert.equal(b.object<Doorbell>(sameSlot).sends, 0);
  });
});

describe('cspace_delete_cap_from (spec §1.3 0x22)', () => {
  test('deleting frees the slot; deleting the last cap destroys the object', () => {
    const { hyp, a } = hypFixture();
    const db = a.doorbell();
    const bell = a.object<Doorbell>(db);
    const destroyed: HypObject[] = [];
    const off = hyp.events.on('object-destroyed', (o) => destroyed.push(o));
    const copy = a.grant(db, a, ~0);
    assert.equal(a.call('cspace_delete_cap_from', [a.cspace, db, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('doorbell_send', [db, 1n, 0]).err, GH_ERROR.CSPACE_CAP_NULL);
    assert.deepEqual([destroyed, bell.state], [[], OBJECT_STATE.ACTIVE], 'a copy still refers to it');
    assert.equal(a.call('cspace_delete_cap_from', [a.cspace, copy, 0]).err, GH_ERROR.OK);
    off();
    assert.deepEqual([destroyed, bell.state, hyp.objects.has(bell.id)], [[bell], OBJECT_STATE.DESTROYING, false]);
  });

  test('a freed slot is reused: the next cap gets the same capid', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    a.call('cspace_delete_cap_from', [a.cspace, db, 0]);
    assert.equal(a.create('msgqueue'), db);
  });

  test('errors: empty slot CAP_NULL, undecodable ARGUMENT_INVALID; a revoked cap can be deleted', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const copy = a.grant(db, a, ~0);
    a.call('cspace_revoke_caps_from', [a.cspace, db, 0]);
    assert.equal(a.call('cspace_delete_cap_from', [a.cspace, copy, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('cspace_delete_cap_from', [a.cspace, copy, 0]).err, GH_ERROR.CSPACE_CAP_NULL);
    assert.equal(a.call('cspace_delete_cap_from', [a.cspace, db ^ (1n << 62n), 0]).err, GH_ERROR.ARGUMENT_INVALID);
  });

  test('cspace errors on the cspace argument (needs CAP_DELETE)', () => {
    const { a } = hypFixture();
    const victim = a.doorbell();
    assertCapErrors(a, {
      name: 'cspace_delete_cap_from', args: (cs) => [cs, victim, 0], needs: CAP_DELETE,
      make: () => a.grant(a.cspace, a, ~0), other: () => a.doorbell(), makeInit: () => a.create('cspace'),
    });
  });
});

describe('cspace_copy_cap_from (spec §1.3 0x23)', () => {
  test('the copy carries rights & rights_mask and names the same object', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const r = a.call('cspace_copy_cap_from', [a.cspace, db, a.cspace, right('doorbell', 'send') | 0x100]);
    assert.equal(r.err, GH_ERROR.OK);
    const copy = r.x[1]!;
    assert.deepEqual([a.cap(copy).rights, a.object(copy)], [right('doorbell', 'send'), a.object(db)]);
    assert.equal(a.call('doorbell_receive', [copy, 1n, 0]).err, GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS);
  });

  test('copying into another VM\'s cspace gives that VM a working capid', () => {
    const { a, b } = hypFixture();
    const db = a.doorbell();
    const theirCspace = b.grant(b.cspace, a, CAP_CREATE);
    const r = a.call('cspace_copy_cap_from', [a.cspace, db, theirCspace, allRights('doorbell')]);
    assert.equal(r.err, GH_ERROR.OK);
    assert.equal(b.call('doorbell_send', [r.x[1]!, 4n, 0]).err, GH_ERROR.OK);
    assert.equal(a.object<Doorbell>(db).flags, 4n);
  });

  test('errors: rights_mask above 32 bits, empty or revoked source, full destination', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    assert.equal(a.call('cspace_copy_cap_from', [a.cspace, db, a.cspace, 1n << 32n]).err, GH_ERROR.ARGUMENT_INVALID);
    const gone = a.grant(db, a, ~0);
    a.call('cspace_delete_cap_from', [a.cspace, gone, 0]);
    assert.equal(a.call('cspace_copy_cap_from', [a.cspace, gone, a.cspace, ~0 >>> 0]).err, GH_ERROR.CSPACE_CAP_NULL);
    const revoked = a.grant(db, a, ~0);
    a.call('cspace_revoke_caps_from', [a.cspace, db, 0]);
    assert.equal(a.call('cspace_copy_cap_from', [a.cspace, revoked, a.cspace, ~0 >>> 0]).err, GH_ERROR.CSPACE_CAP_REVOKED);
    a.vm.cspace.maxCaps = a.vm.cspace.count;
    assert.equal(a.call('cspace_copy_cap_from', [a.cspace, db, a.cspace, ~0 >>> 0]).err, GH_ERROR.CSPACE_FULL);
  });

  test('cspace errors on the source cspace (needs CAP_COPY) and the destination (needs CAP_CREATE)', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const cspaces = { make: () => a.grant(a.cspace, a, ~0), other: () => a.doorbell(), makeInit: () => a.create('cspace') };
    assertCapErrors(a, { name: 'cspace_copy_cap_from', args: (cs) => [cs, db, a.cspace, ~0 >>> 0], needs: CAP_COPY, ...cspaces });
    assertCapErrors(a, { name: 'cspace_copy_cap_from', args: (cs) => [a.cspace, db, cs, ~0 >>> 0], needs: CAP_CREATE, ...cspaces });
  });
});

describe('cspace_revoke_caps_from (spec §1.3 0x59)', () => {
  test('revokes every cap derived from the master, transitively, and not the master', () => {
    const { a, b } = hypFixture();
    const db = a.doorbell();
    const child = a.grant(db, a, ~0);
    const grandchild = a.grant(child, b, ~0);
    const sibling = a.grant(db, b, ~0);
    assert.equal(a.call('cspace_revoke_caps_from', [a.cspace, db, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('doorbell_send', [child, 1n, 0]).err, GH_ERROR.CSPACE_CAP_REVOKED);
    assert.equal(b.call('doorbell_send', [grandchild, 1n, 0]).err, GH_ERROR.CSPACE_CAP_REVOKED);
    assert.equal(b.call('doorbell_send', [sibling, 1n, 0]).err, GH_ERROR.CSPACE_CAP_REVOKED);
    assert.equal(a.call('doorbell_send', [db, 1n, 0]).err, GH_ERROR.OK);
  });

  test('errors on the master cap: empty slot, undecodable, revoked', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    const child = a.grant(db, a, ~0);
    a.call('cspace_revoke_caps_from', [a.cspace, db, 0]);
    assert.equal(a.call('cspace_revoke_caps_from', [a.cspace, child, 0]).err, GH_ERROR.CSPACE_CAP_REVOKED);
    assert.equal(a.call('cspace_revoke_caps_from', [a.cspace, db ^ (1n << 40n), 0]).err, GH_ERROR.ARGUMENT_INVALID);
    a.call('cspace_delete_cap_from', [a.cspace, child, 0]);
    assert.equal(a.call('cspace_revoke_caps_from', [a.cspace, child, 0]).err, GH_ERROR.CSPACE_CAP_NULL);
  });

  test('cspace errors on the cspace argument (needs CAP_REVOKE)', () => {
    const { a } = hypFixture();
    const master = a.doorbell();
    assertCapErrors(a, {
      name: 'cspace_revoke_caps_from', args: (cs) => [cs, master, 0], needs: CAP_REVOKE,
      make: () => a.grant(a.cspace, a, ~0), other: () => a.doorbell(), makeInit: () => a.create('cspace'),
    });
  });

  test('cspace_revoke_cap_from (0x24) is unimplemented, as in the hypervisor', () => {
    const { a } = hypFixture();
    assert.equal(a.call('cspace_revoke_cap_from', [a.cspace, a.doorbell(), 0]).err, GH_ERROR.UNIMPLEMENTED);
  });
});

describe('cspace_configure and a created cspace (spec §1.3 0x25)', () => {
  /** A cspace made by hypercall, configured for `maxCaps`. */
  function newCspace(a: FixtureVm, maxCaps: number): bigint {
    const cs = a.create('cspace');
    assert.equal(a.call('cspace_configure', [cs, maxCaps, 0]).err, GH_ERROR.OK);
    return cs;
  }

  test('max_caps bounds the caps the cspace takes: the next create is CSPACE_FULL', () => {
    const { a } = hypFixture();
    const cs = newCspace(a, 2);
    assert.equal(a.call('object_activate', [cs, 0]).err, GH_ERROR.OK);
    for (let i = 0; i < 2; i++) assert.equal(a.call('partition_create_doorbell', [a.partition, cs, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('partition_create_doorbell', [a.partition, cs, 0]).err, GH_ERROR.CSPACE_FULL);
  });

  test('max_caps above 65536 or above 32 bits is ARGUMENT_INVALID; 0 is stored and activation refuses it', () => {
    const { a } = hypFixture();
    const cs = a.create('cspace');
    assert.equal(a.call('cspace_configure', [cs, 65537, 0]).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(a.call('cspace_configure', [cs, 1n << 32n, 0]).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(a.call('cspace_configure', [cs, 65536, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('cspace_configure', [cs, 0, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('object_activate', [cs, 0]).err, GH_ERROR.OBJECT_CONFIG);
  });

  test('configure after activation is OBJECT_STATE; a cspace in INIT cannot take caps', () => {
    const { a } = hypFixture();
    const cs = a.create('cspace');
    assert.equal(a.call('partition_create_doorbell', [a.partition, cs, 0]).err, GH_ERROR.OBJECT_STATE);
    assert.equal(a.call('object_activate', [cs, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('cspace_configure', [cs, 16, 0]).err, GH_ERROR.OBJECT_STATE);
  });

  test('cspace errors (needs ACTIVATE; works on an INIT cspace)', () => {
    const { a } = hypFixture();
    assertCapErrors(a, {
      name: 'cspace_configure', args: (cs) => [cs, 16, 0], needs: RIGHT_ACTIVATE,
      make: () => a.create('cspace'), other: () => a.create('doorbell'),
    });
  });
});

describe('partition_create_* (spec §1.3 0x01-0x0B)', () => {
  test('the new object is in INIT and its cap carries every right of its type', () => {
    const { a } = hypFixture();
    for (const type of ['partition', 'cspace', 'addrspace', 'thread', 'doorbell', 'msgqueue', 'vic'] as const) {
      const capid = a.create(type);
      const cap = a.cap(capid);
      assert.deepEqual([cap.object.type, cap.object.state, cap.rights], [type, OBJECT_STATE.INIT, allRights(type)], type);
    }
  });

  test('object types this emulator does not build answer as unknown calls (-1)', () => {
    const { a } = hypFixture();
    for (const name of ['partition_create_watchdog', 'partition_create_vpm_group', 'partition_create_virtio_mmio'] as const) {
      assert.equal(a.call(name, [a.partition, a.cspace, 0]).err, GH_ERROR.UNIMPLEMENTED, name);
    }
  });

  test('a full cspace is CSPACE_FULL and nothing is created', () => {
    const { hyp, a } = hypFixture();
    a.vm.cspace.maxCaps = a.vm.cspace.count;
    const objects = hyp.objects.size;
    assert.equal(a.call('partition_create_doorbell', [a.partition, a.cspace, 0]).err, GH_ERROR.CSPACE_FULL);
    assert.equal(hyp.objects.size, objects);
  });

  test('cspace errors on the partition (needs OBJECT_CREATE) and on the cspace (needs CAP_CREATE)', () => {
    const { a } = hypFixture();
    const partitions = { make: () => a.grant(a.partition, a, ~0), other: () => a.doorbell(), makeInit: () => a.create('partition') };
    assertCapErrors(a, {
      name: 'partition_create_doorbell', args: (p) => [p, a.cspace, 0], needs: right('partition', 'object_create'), ...partitions,
    });
    assertCapErrors(a, {
      name: 'partition_create_msgqueue', args: (cs) => [a.partition, cs, 0], needs: CAP_CREATE,
      make: () => a.grant(a.cspace, a, ~0), other: () => a.doorbell(), makeInit: () => a.create('cspace'),
    });
  });
});

describe('object_activate(_from) / object_reset(_from) (spec §1.3 0x0C-0x0F, §1.4)', () => {
  test('activate moves INIT to ACTIVE; again is OBJECT_STATE; missing mandatory configuration is OBJECT_CONFIG', () => {
    const { a } = hypFixture();
    const db = a.create('doorbell');
    assert.equal(a.call('object_activate', [db, 0]).err, GH_ERROR.OK);
    assert.equal(a.object(db).state, OBJECT_STATE.ACTIVE);
    assert.equal(a.call('object_activate', [db, 0]).err, GH_ERROR.OBJECT_STATE);
    assert.equal(a.call('object_activate', [a.create('msgqueue'), 0]).err, GH_ERROR.OBJECT_CONFIG);
  });

  test('reset returns an object to INIT; it can be configured and activated again', () => {
    const { a } = hypFixture();
    const q = a.msgqueue();
    assert.equal(a.call('object_reset', [q, 0]).err, GH_ERROR.OK);
    assert.equal(a.object(q).state, OBJECT_STATE.INIT);
    assert.equal(a.call('msgqueue_configure', [q, 4 | (16 << 16), 0]).err, GH_ERROR.OK);
    assert.equal(a.call('object_activate', [q, 0]).err, GH_ERROR.OK);
  });

  test('the _from forms act on a cap in another cspace the caller holds with CAP_CREATE', () => {
    const { a, b } = hypFixture();
    const theirs = b.create('doorbell');
    const theirCspace = b.grant(b.cspace, a, CAP_CREATE);
    assert.equal(a.call('object_activate', [theirs, 0]).err, GH_ERROR.ARGUMENT_INVALID, 'not a capid of a');
    assert.equal(a.call('object_activate_from', [theirCspace, theirs, 0]).err, GH_ERROR.OK);
    assert.equal(b.object(theirs).state, OBJECT_STATE.ACTIVE);
    assert.equal(a.call('object_reset_from', [theirCspace, theirs, 0]).err, GH_ERROR.OK);
    assert.equal(b.object(theirs).state, OBJECT_STATE.INIT);
  });

  for (const name of ['object_activate', 'object_reset'] as const) {
    test(`${name}: any object type, needs ACTIVATE; empty, revoked and undecodable caps fail`, () => {
      const { a } = hypFixture();
      assertCapErrors(a, { name, args: (cap) => [cap, 0], needs: RIGHT_ACTIVATE, make: () => a.create('doorbell') });
      for (const type of ['partition', 'cspace', 'addrspace', 'vic'] as const) {
        assert.notEqual(a.call(name, [a.create(type), 0]).err, GH_ERROR.CSPACE_WRONG_OBJECT_TYPE, type);
      }
    });
  }

  for (const name of ['object_activate_from', 'object_reset_from'] as const) {
    test(`${name}: cspace errors on the cspace argument (needs CAP_CREATE)`, () => {
      const { a } = hypFixture();
      const target = a.create('doorbell');
      assertCapErrors(a, {
        name, args: (cs) => [cs, target, 0], needs: CAP_CREATE,
        make: () => a.grant(a.cspace, a, ~0), other: () => a.doorbell(), makeInit: () => a.create('cspace'),
      });
    });
  }
});

test('an object knows the capabilities that name it, in every cspace, as they are copied and deleted', () => {
  const { a, b } = hypFixture();
  const db = a.doorbell();
  const object = a.object<Doorbell>(db);
  assert.deepEqual([...object.heldBy].map((c) => c.cspace), [a.vm.cspace]);
  const copy = a.grant(db, b, right('doorbell', 'send'));
  assert.deepEqual([...object.heldBy].map((c) => [c.cspace, c.rights]), [[a.vm.cspace, a.cap(db).rights], [b.vm.cspace, right('doorbell', 'send')]]);
  assert.equal(b.call('cspace_delete_cap_from', [b.cspace, copy]).err, GH_ERROR.OK);
  assert.deepEqual([...object.heldBy].map((c) => c.cspace), [a.vm.cspace]);
});
