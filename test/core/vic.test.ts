// spec §8.1: the vIC — vic_configure (the source's five arguments, spec §15.5), vic_attach_vcpu, and how pending
// lines behave (per-vCPU private lines, level re-check at end of interrupt, edge-only asserts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { right, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import { VIC_OPTION } from '../../core/abi/virq.js';
import type { Vcpu } from '../../core/vm/vcpu.js';
import { Vic, VirqSource } from '../../core/vm/vic.js';
import { assertCapErrors, hypFixture, type FixtureVm } from '../helpers/hyp-fixture.js';

const ATTACH_VCPU = right('vic', 'attach_vcpu');

/** An active vIC made by hypercall with `maxVcpus` and 32 SPIs. */
function activeVic(a: FixtureVm, maxVcpus = 4): bigint {
  const vic = a.create('vic');
  assert.equal(a.call('vic_configure', [vic, maxVcpus, 32, 0, 0]).err, GH_ERROR.OK);
  assert.equal(a.call('object_activate', [vic, 0]).err, GH_ERROR.OK);
  return vic;
}

describe('vic_configure(vic, max_vcpus, max_virqs, vic_options, max_msis)', () => {
  test('stores max_vcpus and max_virqs while INIT, in both conventions', () => {
    const { a } = hypFixture();
    for (const conv of ['smccc', 'native'] as const) {
      const vic = a.create('vic');
      assert.equal(a.call('vic_configure', [vic, 3, 100, VIC_OPTION.DISABLE_DEFAULT_ADDR, 0], conv).err, GH_ERROR.OK, conv);
      assert.deepEqual([a.object<Vic>(vic).maxVcpus, a.object<Vic>(vic).maxVirqs], [3, 100]);
    }
  });

  test('limits: 1-256 vCPUs, 0-988 SPIs; values above 32 bits are ARGUMENT_INVALID', () => {
    const { a } = hypFixture();
    const cases: [bigint | number, bigint | number, number][] = [
      [1, 0, GH_ERROR.OK], [256, 988, GH_ERROR.OK],
      [0, 32, GH_ERROR.ARGUMENT_INVALID], [257, 32, GH_ERROR.ARGUMENT_INVALID], [1, 989, GH_ERROR.ARGUMENT_INVALID],
      [(1n << 32n) | 1n, 32, GH_ERROR.ARGUMENT_INVALID], [1, (1n << 32n) | 32n, GH_ERROR.ARGUMENT_INVALID],
    ];
    for (const [vcpus, virqs, err] of cases) {
      assert.equal(a.call('vic_configure', [a.create('vic'), vcpus, virqs, 0, 0]).err, err, `${vcpus} vCPUs, ${virqs} vIRQs`);
    }
  });

  test('vic_options: only bits 0 and 1 are defined', () => {
    const { a } = hypFixture();
    for (const options of [4, 0x8000_0000, 1n << 32n]) {
      assert.equal(a.call('vic_configure', [a.create('vic'), 1, 32, options, 0]).err, GH_ERROR.ARGUMENT_INVALID, `${options}`);
    }
  });

  test('max_msis must be 0 when marked valid (no MSI sources); without bit 0 it is ignored', () => {
    const { a } = hypFixture();
    const valid = VIC_OPTION.MAX_MSIS_VALID;
    assert.equal(a.call('vic_configure', [a.create('vic'), 1, 32, valid, 64]).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(a.call('vic_configure', [a.create('vic'), 1, 32, valid, 0]).err, GH_ERROR.OK);
    assert.equal(a.call('vic_configure', [a.create('vic'), 1, 32, 0, 64]).err, GH_ERROR.OK);
  });

  test('configure after activation is OBJECT_STATE', () => {
    const { a } = hypFixture();
    assert.equal(a.call('vic_configure', [activeVic(a), 1, 32, 0, 0]).err, GH_ERROR.OBJECT_STATE);
  });

  test('an unconfigured vIC activates with the hypervisor\'s defaults: one vCPU, no SPIs', () => {
    const { a } = hypFixture();
    const vic = a.create('vic');
    assert.equal(a.call('object_activate', [vic, 0]).err, GH_ERROR.OK);
    assert.deepEqual([a.object<Vic>(vic).maxVcpus, a.object<Vic>(vic).maxVirqs], [1, 0]);
    assert.equal(a.call('doorbell_bind_virq', [a.doorbell(), vic, 32, 0]).err, GH_ERROR.ARGUMENT_INVALID);
    assert.equal(a.call('doorbell_bind_virq', [a.doorbell(), vic, 4096, 0]).err, GH_ERROR.OK, 'extended SPIs remain');
  });

  test('cspace errors (needs ACTIVATE; works on an INIT vIC)', () => {
    const { a } = hypFixture();
    assertCapErrors(a, {
      name: 'vic_configure', args: (vic) => [vic, 1, 32, 0, 0], needs: RIGHT_ACTIVATE,
      make: () => a.create('vic'), other: () => a.create('doorbell'),
    });
  });

  test('vic_bind_msi_source is unimplemented (no MSI sources)', () => {
    const { a } = hypFixture();
    assert.equal(a.call('vic_bind_msi_source', [a.vic, a.doorbell(), 0]).err, GH_ERROR.UNIMPLEMENTED);
  });
});

describe('vic_attach_vcpu(vic, vcpu, index)', () => {
  test('attaches a vCPU in INIT at an index below max_vcpus and gives it that index', () => {
    const { a } = hypFixture();
    const vic = activeVic(a);
    const thread = a.create('thread');
    assert.equal(a.call('vic_attach_vcpu', [vic, thread, 2, 0]).err, GH_ERROR.OK);
    assert.equal(a.object<Vic>(vic).vcpuAt(2), a.object(thread));
    assert.equal(a.object<Vcpu>(thread).index, 2);
  });

  test('index at or above max_vcpus, or above 32 bits, is ARGUMENT_INVALID', () => {
    const { a } = hypFixture();
    const vic = activeVic(a, 2);
    const thread = a.create('thread');
    for (const index of [2, 255, 1n << 32n]) {
      assert.equal(a.call('vic_attach_vcpu', [vic, thread, index, 0]).err, GH_ERROR.ARGUMENT_INVALID, `${index}`);
    }
  });

  test('an index held by another vCPU is BUSY; attaching the same vCPU again moves it', () => {
    const { a } = hypFixture();
    const vic = activeVic(a);
    const first = a.create('thread');
    const second = a.create('thread');
    a.call('vic_attach_vcpu', [vic, first, 0, 0]);
    assert.equal(a.call('vic_attach_vcpu', [vic, second, 0, 0]).err, GH_ERROR.BUSY);
    assert.equal(a.call('vic_attach_vcpu', [vic, first, 1, 0]).err, GH_ERROR.OK);
    assert.equal(a.object<Vic>(vic).vcpuAt(0), undefined);
    assert.equal(a.call('vic_attach_vcpu', [vic, second, 0, 0]).err, GH_ERROR.OK);
  });

  test('an active vCPU is OBJECT_STATE', () => {
    const { a } = hypFixture();
    const vcpuCap = a.vm.cspace.insert(a.vcpu, RIGHT_ACTIVATE);
    assert.ok(typeof vcpuCap !== 'number');
    const err = a.call('vic_attach_vcpu', [activeVic(a), a.vm.cspace.capid(vcpuCap.slot), 0, 0]).err;
    assert.equal(err, GH_ERROR.OBJECT_STATE);
  });

  test('cspace errors on the vIC (needs ATTACH_VCPU, active) and on the vCPU (needs ACTIVATE)', () => {
    const { a } = hypFixture();
    const thread = a.create('thread');
    assertCapErrors(a, {
      name: 'vic_attach_vcpu', args: (vic) => [vic, thread, 0, 0], needs: ATTACH_VCPU,
      make: () => activeVic(a), other: () => a.doorbell(), makeInit: () => a.create('vic'),
    });
    const vic = activeVic(a, 256);
    let index = 0;
    assertCapErrors(a, {
      name: 'vic_attach_vcpu', args: (t) => [vic, t, index++, 0], needs: RIGHT_ACTIVATE,
      make: () => a.create('thread'), other: () => a.doorbell(),
    });
  });
});

describe('pending lines (spec §8.1)', () => {
  function vicWithSource(level: boolean) {
    const vic = new Vic(1);
    vic.configure(2, 64);
    vic.activate();
    let condition = true;
    const source = new VirqSource(level ? () => condition : undefined);
    return { vic, source, setCondition: (v: boolean) => (condition = v) };
  }

  test('a private line is pending for its vCPU only; a shared line for any vCPU', () => {
    const { vic } = vicWithSource(false);
    const ppi = new VirqSource();
    const spi = new VirqSource();
    assert.equal(ppi.bind(vic, (1 << 24) | 27, 0), GH_ERROR.OK);
    assert.equal(spi.bind(vic, 40, 0), GH_ERROR.OK);
    ppi.assert();
    assert.deepEqual([vic.hasPendingFor(0), vic.hasPendingFor(1), vic.isPending(27, 1), vic.isPending(27, 0)], [false, true, true, false]);
    spi.assert();
    assert.deepEqual([vic.acknowledge(0), vic.acknowledge(0)], [40, -1]);
    assert.equal(vic.acknowledge(1), 27);
  });

  test('interrupts are acknowledged oldest first; a raised line is pending once', () => {
    const { vic } = vicWithSource(false);
    const [s1, s2] = [new VirqSource(), new VirqSource()];
    s1.bind(vic, 50, 0);
    s2.bind(vic, 33, 0);
    s1.assert();
    s2.assert();
    s1.assert();
    assert.deepEqual([vic.pendingCount, vic.acknowledge(0), vic.acknowledge(0), vic.acknowledge(0)], [2, 50, 33, -1]);
    assert.equal(s1.asserts, 2);
  });

  test('level source: pending again at end of interrupt while its condition holds; never on an edge line', () => {
    const { vic, source, setCondition } = vicWithSource(true);
    source.bind(vic, 40, 0);
    source.assert();
    vic.acknowledge(0);
    vic.endOfInterrupt(40);
    assert.equal(vic.isPending(40), true);
    vic.acknowledge(0);
    setCondition(false);
    vic.endOfInterrupt(40);
    assert.equal(vic.isPending(40), false);
    setCondition(true);
    vic.setEdgeTriggered(40, true);
    source.assert();
    vic.acknowledge(0);
    vic.endOfInterrupt(40);
    assert.equal(vic.isPending(40), false, 'edge-triggered: no re-check');
  });

  test('edge-only asserts reach edge-triggered lines only; clear lowers a line', () => {
    const { vic, source } = vicWithSource(false);
    source.bind(vic, 40, 0);
    source.assert(true);
    assert.equal(vic.isPending(40), false);
    vic.setEdgeTriggered(40, true);
    assert.equal(vic.isEdgeTriggered(40), true);
    source.assert(true);
    assert.equal(vic.isPending(40), true);
    source.clear();
    assert.equal(vic.isPending(40), false);
  });

  test('onPending tells the target vCPU (-1: any vCPU for a shared line)', () => {
    const { vic } = vicWithSource(false);
    const woken: number[] = [];
    vic.onPending = (i) => woken.push(i);
    const ppi = new VirqSource();
    const spi = new VirqSource();
    ppi.bind(vic, (1 << 24) | 20, 0);
    spi.bind(vic, 45, 0);
    ppi.assert();
    spi.assert();
    spi.assert();
    assert.deepEqual(woken, [1, -1]);
  });
});
