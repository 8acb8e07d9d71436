import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ghErrorName } from '../../core/abi/errors.js';
import { allRights, right } from '../../core/abi/objects.js';
import {
  VCPU_OPTION, VCPU_POWEROFF_FLAG, VCPU_POWERON_FLAG, VCPU_REG_SET, VCPU_VIRQ_TYPE,
} from '../../core/abi/vcpu.js';
import { encodeVirqInfo } from '../../core/abi/virq.js';
import type { CallResult } from '../../core/hyp/call.js';
import { VCPU_STATE, type Vcpu } from '../../core/vm/vcpu.js';
import { capTo, entryFor, powerOn, until } from '../helpers/guest-fixture.js';
import { hypFixture, type FixtureOptions } from '../helpers/hyp-fixture.js';

const err = (r: CallResult): string => ghErrorName(r.err);
const ALL = allRights('thread');
const without = (name: Parameters<typeof right<'thread'>>[1]): number => (ALL & ~right('thread', name)) >>> 0;
const forever = async (cpu: { wfi(): Promise<number> }): Promise<void> => {
  for (;;) await cpu.wfi();
};

/** One VM of `vcpus` vCPUs whose scheduler stops with the test. */
function setup(t: TestContext, vcpus = 3, opts: FixtureOptions = {}) {
  const f = hypFixture({ vms: 1, vcpus, ...opts });
  t.after(() => f.hyp.scheduler.stop());
  return { hyp: f.hyp, a: f.a, vcpus: f.a.vm.vcpus as Vcpu[] };
}

describe('vcpu_poweron (spec §6.1)', () => {
  test('starts the program registered at the entry IPA, with the context in X0', async (t) => {
    const { hyp, a, vcpus } = setup(t, 2);
    const states: [number, number][] = [];
    hyp.events.on('vcpu-state', (e) => states.push([e.vcpu.index, e.state]));
    const seen: bigint[] = [];
    powerOn(a, 1, async (cpu) => {
      seen.push(cpu.entryIpa, cpu.context, cpu.x(0));
    }, 0x1234);
    assert.equal(vcpus[1]!.schedState, VCPU_STATE.READY);
    await hyp.scheduler.whenIdle();
    assert.deepEqual(seen, [BigInt(entryFor(1)), 0x1234n, 0x1234n]);
    assert.equal(vcpus[1]!.schedState, VCPU_STATE.POWERED_OFF, 'returning from the program powers the vCPU off');
    assert.deepEqual(states, [[1, VCPU_STATE.READY], [1, VCPU_STATE.POWERED_OFF]]);
  });

  test('is BUSY while the vCPU is powered on', async (t) => {
    const { a, vcpus } = setup(t, 2);
    const cap = powerOn(a, 1, forever);
    await until(() => vcpus[1]!.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'WFI');
    assert.equal(err(a.call('vcpu_poweron', [cap, entryFor(1), 0, 0])), 'ERROR_BUSY');
  });

  test('PRESERVE_ENTRY_POINT and PRESERVE_CONTEXT keep the PC and X0 set by vcpu_register_write', async (t) => {
    const { hyp, a } = setup(t, 2);
    const seen: bigint[] = [];
    a.vm.programs.set(0x9000_0000, async (cpu) => {
      seen.push(cpu.entryIpa, cpu.context);
    });
    const cap = capTo(a, a.vm.vcpus[1]!);
    assert.equal(err(a.call('vcpu_register_write', [cap, VCPU_REG_SET.PC, 0, 0x9000_0000, 0])), 'OK');
    assert.equal(err(a.call('vcpu_register_write', [cap, VCPU_REG_SET.X, 0, 0x55, 0])), 'OK');
    const flags = VCPU_POWERON_FLAG.PRESERVE_ENTRY_POINT | VCPU_POWERON_FLAG.PRESERVE_CONTEXT;
    assert.equal(err(a.call('vcpu_poweron', [cap, 0x1000, 0x99, flags])), 'OK');
    await hyp.scheduler.whenIdle();
    assert.deepEqual(seen, [0x9000_0000n, 0x55n]);
  });

  test('rejects unknown flags, missing POWER right, an inactive vCPU and a killed one', (t) => {
    const { a, vcpus } = setup(t, 2);
    const cap = capTo(a, vcpus[1]!);
    assert.equal(err(a.call('vcpu_poweron', [cap, entryFor(1), 0, 4])), 'ERROR_ARGUMENT_INVALID');
    assert.equal(err(a.call('vcpu_poweron', [cap, entryFor(1), 0, 1n << 32n])), 'ERROR_ARGUMENT_INVALID');
    const noPower = capTo(a, vcpus[1]!, without('power'));
    assert.equal(err(a.call('vcpu_poweron', [noPower, entryFor(1), 0, 0])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
    const fresh = a.create('thread');
    assert.equal(err(a.call('vcpu_poweron', [fresh, entryFor(1), 0, 0])), 'ERROR_OBJECT_STATE');
    assert.equal(err(a.call('vcpu_kill', [cap, 0])), 'OK');
    assert.equal(err(a.call('vcpu_poweron', [cap, entryFor(1), 0, 0])), 'ERROR_OBJECT_STATE');
  });
});

describe('vcpu_poweroff (spec §6.1)', () => {
  test('powers off only the calling vCPU itself (ARGUMENT_INVALID for another)', (t) => {
    const { a, vcpus } = setup(t, 2);
    const other = capTo(a, vcpus[1]!);
    assert.equal(err(a.call('vcpu_poweroff', [other, 0])), 'ERROR_ARGUMENT_INVALID');
    assert.equal(err(a.call('vcpu_poweroff', [other, 2])), 'ERROR_ARGUMENT_INVALID', 'unknown flag');
  });

  test('LAST_VCPU must be set exactly when the caller is the only powered-on vCPU (else DENIED)', async (t) => {
    const { hyp, a, vcpus } = setup(t, 3);
    const results: string[] = [];
    const selfCaps = [capTo(a, vcpus[1]!), capTo(a, vcpus[2]!)];
    const LAST = VCPU_POWEROFF_FLAG.LAST_VCPU;
    powerOn(a, 1, async (cpu) => {
      results.push(`1 last: ${ghErrorName(cpu.hvc('vcpu_poweroff', [selfCaps[0]!, LAST]).err)}`);
      results.push(`1 not last: ${ghErrorName(cpu.hvc('vcpu_poweroff', [selfCaps[0]!, 0]).err)}`);
      await cpu.yield();
      results.push('1 resumed after power-off');
    });
    powerOn(a, 2, async (cpu) => {
      while (vcpus[1]!.poweredOn) await cpu.yield();
      results.push(`2 not last: ${ghErrorName(cpu.hvc('vcpu_poweroff', [selfCaps[1]!, 0]).err)}`);
      results.push(`2 last: ${ghErrorName(cpu.hvc('vcpu_poweroff', [selfCaps[1]!, LAST]).err)}`);
      await cpu.yield();
      results.push('2 resumed after power-off');
    });
    await hyp.scheduler.whenIdle();
    assert.deepEqual(results, ['1 last: ERROR_DENIED', '1 not last: OK', '2 not last: ERROR_DENIED', '2 last: OK']);
    assert.deepEqual(vcpus.map((v) => v.schedState), [0, 0, 0].map(() => VCPU_STATE.POWERED_OFF));
  });
});

describe('vcpu_kill (spec §6.1)', () => {
  test('stops a running program for good; killing again is OK; LIFECYCLE right needed', async (t) => {
    const { a, vcpus } = setup(t, 2);
    let rounds = 0;
    const cap = powerOn(a, 1, async (cpu) => {
      for (;;) {
        rounds++;
        await cpu.yield();
      }
    });
    await until(() => rounds > 10, 'the program runs');
    assert.equal(err(a.call('vcpu_kill', [capTo(a, vcpus[1]!, without('lifecycle')), 0])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
    assert.equal(err(a.call('vcpu_kill', [cap, 0])), 'OK');
    const after = rounds;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(rounds, after, 'the program never runs again');
    assert.equal(vcpus[1]!.schedState, VCPU_STATE.POWERED_OFF);
    assert.equal(vcpus[1]!.killed, true);
    assert.equal(err(a.call('vcpu_kill', [cap, 0])), 'OK');
  });
});

describe('vcpu_configure (spec §6.1)', () => {
  test('sets known option flags while INIT; unknown bits ARGUMENT_INVALID; OBJECT_STATE once active', (t) => {
    const { a } = setup(t, 1);
    const thread = a.create('thread');
    const options = (1n << BigInt(VCPU_OPTION.SVE_ALLOWED)) | (1n << BigInt(VCPU_OPTION.HLOS_VM));
    assert.equal(err(a.call('vcpu_configure', [thread, options, 0])), 'OK');
    assert.equal(a.object<Vcpu>(thread).options, options);
    assert.equal(err(a.call('vcpu_configure', [thread, 1n << 10n, 0])), 'ERROR_ARGUMENT_INVALID');
    assert.equal(err(a.call('vcpu_configure', [capTo(a, a.vcpu), 0, 0])), 'ERROR_OBJECT_STATE');
  });

  test('a vCPU activates only once attached to a VM (OBJECT_CONFIG)', (t) => {
    const { a } = setup(t, 1);
    assert.equal(err(a.call('object_activate', [a.create('thread'), 0])), 'ERROR_OBJECT_CONFIG');
  });
});

describe('vcpu_set_priority and vcpu_set_timeslice (spec §6.1, §13.4)', () => {
  test('priority 0-63 while INIT; above 63 DENIED; PRIORITY right; default 32', (t) => {
    const { a } = setup(t, 1);
    const thread = a.create('thread');
    assert.equal(a.object<Vcpu>(thread).priority, 32);
    assert.equal(err(a.call('vcpu_set_priority', [thread, 63])), 'OK');
    assert.equal(a.object<Vcpu>(thread).priority, 63);
    assert.equal(err(a.call('vcpu_set_priority', [thread, 0])), 'OK');
    assert.equal(err(a.call('vcpu_set_priority', [thread, 64])), 'ERROR_DENIED');
    assert.equal(err(a.call('vcpu_set_priority', [thread, 1n << 32n])), 'ERROR_DENIED');
    const noRight = capTo(a, a.object<Vcpu>(thread), without('priority'));
    assert.equal(err(a.call('vcpu_set_priority', [noRight, 1])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
    assert.equal(err(a.call('vcpu_set_priority', [capTo(a, a.vcpu), 40])), 'ERROR_OBJECT_STATE');
  });

  test('timeslice 1-100 ms in ns while INIT; ARGUMENT_INVALID outside; default 5 ms', (t) => {
    const { a } = setup(t, 1);
    const thread = a.create('thread');
    assert.equal(a.object<Vcpu>(thread).timesliceNs, 5_000_000);
    assert.equal(err(a.call('vcpu_set_timeslice', [thread, 1_000_000])), 'OK');
    assert.equal(err(a.call('vcpu_set_timeslice', [thread, 100_000_000])), 'OK');
    assert.equal(a.object<Vcpu>(thread).timesliceNs, 100_000_000);
    for (const ns of [999_999, 100_000_001, 1n << 60n]) {
      assert.equal(err(a.call('vcpu_set_timeslice', [thread, ns])), 'ERROR_ARGUMENT_INVALID', `${ns} ns`);
    }
    const noRight = capTo(a, a.object<Vcpu>(thread), without('timeslice'));
    assert.equal(err(a.call('vcpu_set_timeslice', [noRight, 1_000_000])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
    assert.equal(err(a.call('vcpu_set_timeslice', [capTo(a, a.vcpu), 1_000_000])), 'ERROR_OBJECT_STATE');
  });
});

describe('vcpu_set_affinity (spec §6.1)', () => {
  test('moves an active vCPU to an emulated pCPU; other indexes and a non -1 reserved argument are invalid', (t) => {
    const { a, vcpus } = setup(t, 2, { pcpus: 3 });
    const cap = capTo(a, vcpus[1]!);
    assert.deepEqual(vcpus.map((v) => v.affinity), [0, 1], 'createVm spreads vCPUs over the pCPUs');
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 2, -1])), 'OK');
    assert.equal(vcpus[1]!.affinity, 2);
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 3, -1])), 'ERROR_ARGUMENT_INVALID');
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 1n << 32n, -1])), 'ERROR_ARGUMENT_INVALID');
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 0, 0])), 'ERROR_ARGUMENT_INVALID');
    const noRight = capTo(a, vcpus[1]!, without('affinity'));
    assert.equal(err(a.call('vcpu_set_affinity', [noRight, 0, -1])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  });

  test('-1 (no pCPU) needs the AFFINITY and DISABLE rights; such a vCPU runs only once given a pCPU', async (t) => {
    const { hyp, a, vcpus } = setup(t, 2);
    const noDisable = capTo(a, vcpus[1]!, without('disable'));
    assert.equal(err(a.call('vcpu_set_affinity', [noDisable, -1, -1])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
    const cap = capTo(a, vcpus[1]!);
    assert.equal(err(a.call('vcpu_set_affinity', [cap, -1, -1])), 'OK');
    assert.equal(vcpus[1]!.affinity, -1);
    let ran = false;
    powerOn(a, 1, async () => {
      ran = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(ran, false, 'ready but on no pCPU');
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 0, -1])), 'OK');
    await hyp.scheduler.whenIdle();
    assert.equal(ran, true);
  });

  test('a pinned vCPU cannot move once active (DENIED)', (t) => {
    const { hyp, a } = setup(t, 1);
    const pinned = 1n << BigInt(VCPU_OPTION.PINNED);
    const { vm } = hyp.createVm({ vmid: 0x90, name: 'pinned', vcpus: 1, configureVcpu: (v) => v.configure(pinned) });
    const cap = capTo(a, vm.vcpus[0]!);
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 1, -1])), 'ERROR_DENIED');
    assert.equal(err(a.call('vcpu_set_affinity', [cap, 0, -1])), 'OK', 'staying put is allowed');
  });
});

describe('vcpu_register_write (spec §6.1)', () => {
  test('X0-X30, PC (4-byte aligned) and SP_EL0/1 (16-byte aligned) while powered off; the program sees them', async (t) => {
    const { hyp, a, vcpus } = setup(t, 2);
    const cap = capTo(a, vcpus[1]!);
    const write = (set: number, index: number, value: bigint | number) =>
      err(a.call('vcpu_register_write', [cap, set, index, value, 0]));
    assert.equal(write(VCPU_REG_SET.X, 9, 0x99), 'OK');
    assert.equal(write(VCPU_REG_SET.X, 30, 0x30), 'OK');
    assert.equal(write(VCPU_REG_SET.X, 31, 0), 'ERROR_ARGUMENT_INVALID');
    assert.equal(write(VCPU_REG_SET.PC, 0, 0x8000_0004), 'OK');
    assert.equal(write(VCPU_REG_SET.PC, 0, 0x8000_0002), 'ERROR_ARGUMENT_INVALID');
    assert.equal(write(VCPU_REG_SET.PC, 1, 0x8000_0000), 'ERROR_ARGUMENT_INVALID');
    assert.equal(write(VCPU_REG_SET.SP_EL, 0, 0x1000), 'OK');
    assert.equal(write(VCPU_REG_SET.SP_EL, 1, 0x2000), 'OK');
    assert.equal(write(VCPU_REG_SET.SP_EL, 1, 0x2008), 'ERROR_ARGUMENT_INVALID');
    assert.equal(write(VCPU_REG_SET.SP_EL, 2, 0x2000), 'ERROR_ARGUMENT_INVALID');
    assert.equal(write(3, 0, 0), 'ERROR_ARGUMENT_INVALID');
    assert.deepEqual([vcpus[1]!.pc, ...vcpus[1]!.sp], [0x8000_0004n, 0x1000n, 0x2000n]);
    const noRight = capTo(a, vcpus[1]!, without('write_context'));
    assert.equal(err(a.call('vcpu_register_write', [noRight, VCPU_REG_SET.X, 1, 1, 0])), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');

    const seen: bigint[] = [];
    const started = powerOn(a, 1, async (cpu) => {
      seen.push(cpu.x(9), cpu.x(30));
      await forever(cpu);
    });
    await until(() => seen.length === 2, 'the program starts');
    assert.deepEqual(seen, [0x99n, 0x30n]);
    assert.equal(write(VCPU_REG_SET.X, 1, 1), 'ERROR_BUSY', 'not while powered on');
    assert.equal(err(a.call('vcpu_kill', [started, 0])), 'OK');
    assert.equal(write(VCPU_REG_SET.X, 1, 1), 'ERROR_OBJECT_STATE', 'not after kill');
    await hyp.scheduler.whenIdle();
  });
});

describe('vcpu_bind_virq and vcpu_unbind_virq (spec §6.1, §8.1)', () => {
  test('HALT and VCPU_RUN_WAKEUP bind to shared vIRQs; binding VCPU_RUN_WAKEUP makes the vCPU proxy-scheduled', (t) => {
    const { a, vcpus } = setup(t, 2);
    const cap = capTo(a, vcpus[1]!);
    const bind = (virqInfo: number, type: number, vcpu = cap) =>
      err(a.call('vcpu_bind_virq', [vcpu, a.vic, virqInfo, type, 0]));
    assert.equal(bind(40, VCPU_VIRQ_TYPE.HALT), 'OK');
    assert.equal(bind(42, VCPU_VIRQ_TYPE.HALT), 'ERROR_VIRQ_BOUND');
    assert.equal(bind(40, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP), 'ERROR_BUSY', 'the number is taken');
    assert.equal(bind(encodeVirqInfo(20, 1), VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP), 'ERROR_ARGUMENT_INVALID', 'a PPI');
    assert.equal(bind(41, 2), 'ERROR_ARGUMENT_INVALID', 'an unknown type');
    assert.equal(bind(41, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP, capTo(a, vcpus[1]!, without('bind_virq'))), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
    assert.equal(vcpus[1]!.proxy, false);
    assert.equal(bind(41, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP), 'OK');
    assert.equal(vcpus[1]!.proxy, true);

    const unbind = (type: number) => err(a.call('vcpu_unbind_virq', [cap, type, 0]));
    assert.equal(unbind(VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP), 'OK');
    assert.equal(vcpus[1]!.proxy, false);
    assert.equal(unbind(VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP), 'OK', 'idempotent');
    assert.equal(unbind(7), 'ERROR_ARGUMENT_INVALID');
    assert.equal(bind(41, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP), 'OK', 'the number is free again');
  });
});
