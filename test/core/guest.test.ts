import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import { HC } from '../../core/abi/hypercalls.js';
import { hypercallFunctionId, NATIVE_HVC } from '../../core/abi/smccc.js';
import { ARCH_TIMER_VIRQ } from '../../core/abi/virq.js';
import { VcpuStopped, type GuestProgram } from '../../core/guest/guest-cpu.js';
import { getReg, setReg } from '../../core/hyp/regs.js';
import { VCPU_STATE, type Vcpu } from '../../core/vm/vcpu.js';
import { capTo, entryFor, powerOn, until } from '../helpers/guest-fixture.js';
import { hypFixture, RAM_BASE } from '../helpers/hyp-fixture.js';

const DOORBELL_VIRQ = 45;

/** One VM; its vCPU 0 makes the test's hypercalls, programs run on vCPUs 1 and up. */
function setup(t: TestContext, vcpus = 2) {
  const f = hypFixture({ vms: 1, vcpus });
  t.after(() => f.hyp.scheduler.stop());
  return { hyp: f.hyp, a: f.a, vcpus: f.a.vm.vcpus as Vcpu[] };
}

/** A doorbell bound to the VM's vIC at DOORBELL_VIRQ. */
function doorbell(a: ReturnType<typeof setup>['a']): bigint {
  const db = a.doorbell();
  assert.equal(a.call('doorbell_bind_virq', [db, a.vic, DOORBELL_VIRQ, 0]).err, GH_ERROR.OK);
  return db;
}

describe('GuestCpu: hypercalls and memory', () => {
  test('a program makes hypercalls on its own registers, by name and raw, in both conventions', async (t) => {
    const { hyp, a, vcpus } = setup(t);
    const apiInfo = a.call('hypervisor_identify').x[0];
    const seen: unknown[] = [];
    powerOn(a, 1, async (cpu) => {
      seen.push(cpu.index, cpu.vmid);
      seen.push(cpu.hvc('hypervisor_identify').x[0]);
      cpu.regs.fill(0);
      cpu.hypercall(NATIVE_HVC.BASE + HC.hypervisor_identify);
      seen.push(getReg(cpu.regs, 0));
      cpu.regs.fill(0);
      setReg(cpu.regs, 0, hypercallFunctionId(HC.hypervisor_identify));
      cpu.hypercall(0);
      seen.push(getReg(cpu.regs, 0));
    });
    await hyp.scheduler.whenIdle();
    assert.deepEqual(seen, [1, a.vm.vmid, apiInfo, apiInfo, apiInfo]);
    assert.equal(vcpus[1]!.hypercalls, 3, 'counted on the guest\'s own vCPU');
  });

  test('a program reads and writes its own guest memory; unmapped addresses are ADDR_INVALID', async (t) => {
    const { hyp, a } = setup(t);
    const results: unknown[] = [];
    powerOn(a, 1, async (cpu) => {
      results.push(cpu.mem.writeBytes(RAM_BASE + 0x100, new TextEncoder().encode('guest')));
      results.push(new TextDecoder().decode(cpu.mem.readBytes(RAM_BASE + 0x100, 5) as Uint8Array));
      results.push(cpu.mem.readBytes(0x10, 4));
    });
    await hyp.scheduler.whenIdle();
    assert.deepEqual(results, [GH_ERROR.OK, 'guest', GH_ERROR.ADDR_INVALID]);
    assert.equal(new TextDecoder().decode(a.vm.memory.readBytes(RAM_BASE + 0x100, 5) as Uint8Array), 'guest');
  });
});

describe('GuestCpu: interrupts and the virtual timer', () => {
  test('wfi sleeps until a doorbell vIRQ and returns it acknowledged; EOI re-raises a level source still set', async (t) => {
    const { a, vcpus } = setup(t);
    const db = doorbell(a);
    const got: string[] = [];
    powerOn(a, 1, async (cpu) => {
      const first = await cpu.wfi();
      got.push(`virq ${first}`);
      cpu.eoi(first); // the doorbell's flags are still set: pending again at once
      const again = await cpu.wfi();
      got.push(`again ${again}`);
      got.push(`flags ${cpu.hvc('doorbell_receive', [db, 0xff, 0]).x[1]}`);
      cpu.eoi(again);
      await cpu.wfi();
      got.push('woke once more');
    });
    await until(() => vcpus[1]!.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'WFI');
    assert.deepEqual(got, []);
    assert.equal(a.call('doorbell_send', [db, 0b101, 0]).err, GH_ERROR.OK);
    await until(() => got.length === 3 && vcpus[1]!.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'the guest handles it');
    assert.deepEqual(got, [`virq ${DOORBELL_VIRQ}`, `again ${DOORBELL_VIRQ}`, 'flags 5']);
    assert.equal(vcpus[1]!.stats.wakeups, 1);
  });

  test('the virtual timer never fires early, even when the event loop\'s clock is stale', async (t) => {
    const { a } = setup(t);
    const slept: number[] = [];
    powerOn(a, 1, async (cpu) => {
      // Busy for 3 ms without yielding: Node's timers count from the loop's clock, now 3 ms behind.
      const busy = performance.now();
      while (performance.now() - busy < 3);
      const t0 = performance.now();
      await cpu.sleep(5_000_000);
      slept.push(performance.now() - t0);
    });
    await until(() => slept.length === 1, 'the sleep ends');
    assert.ok(slept[0]! >= 5, `slept ${slept[0]!.toFixed(2)} ms of 5`);
  });

  test('sleep waits on the virtual timer and leaves other interrupts pending; an armed timer ends a WFI with PPI 27', async (t) => {
    const { hyp, a } = setup(t);
    const db = doorbell(a);
    const results: unknown[] = [];
    powerOn(a, 1, async (cpu) => {
      const t0 = performance.now();
      await cpu.sleep(5_000_000);
      results.push(performance.now() - t0 >= 4);
      results.push(cpu.acknowledge()); // the doorbell rang during the sleep
      cpu.setTimer(1_000_000);
      results.push(await cpu.wfi());
      results.push(cpu.acknowledge());
    });
    await until(() => a.vm.vcpus[1]!.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'sleeping');
    a.call('doorbell_send', [db, 1, 0]);
    await hyp.scheduler.whenIdle();
    await until(() => results.length === 4, 'the program ends');
    assert.deepEqual(results, [true, DOORBELL_VIRQ, ARCH_TIMER_VIRQ.EL1_VIRTUAL, -1]);
  });
});

describe('GuestCpu: faults never crash the process', () => {
  for (const [what, program, message] of [
    ['an async program that throws', async () => {
      throw new Error('boom');
    }, 'boom'],
    ['a program that throws before its first await', (() => {
      throw new Error('sync boom');
    }) as unknown as GuestProgram, 'sync boom'],
    ['a program that rejects with a non-Error', async () => {
      throw 'odd';
    }, 'odd'],
  ] as const) {
    test(`${what}: the vCPU is in FAULT and a vcpu-fault event says why`, async (t) => {
      const { hyp, a, vcpus } = setup(t);
      const faults: string[] = [];
      hyp.events.on('vcpu-fault', (e) => faults.push(`${e.vcpu.index}: ${e.error}`));
      powerOn(a, 1, program);
      await until(() => vcpus[1]!.schedState === VCPU_STATE.FAULT, 'the fault');
      assert.deepEqual(faults, [`1: ${message}`]);
      assert.equal(vcpus[1]!.faultReason, message);
      assert.equal(ghErrorName(a.call('vcpu_poweron', [capTo(a, vcpus[1]!), entryFor(1), 0, 0]).err), 'ERROR_BUSY');
    });
  }

  test('nothing registered at the entry IPA: the vCPU faults', async (t) => {
    const { a, vcpus } = setup(t);
    const cap = capTo(a, vcpus[1]!);
    assert.equal(a.call('vcpu_poweron', [cap, 0x4000_0000, 0, 0]).err, GH_ERROR.OK);
    await until(() => vcpus[1]!.schedState === VCPU_STATE.FAULT, 'the fault');
    assert.equal(vcpus[1]!.faultReason, 'no guest program at entry IPA 0x40000000');
  });

  test('awaiting two GuestCpu calls at once is a guest bug: the vCPU faults', async (t) => {
    const { a, vcpus } = setup(t);
    powerOn(a, 1, async (cpu) => {
      await Promise.all([cpu.wfi(), cpu.wfi()]);
    });
    await until(() => vcpus[1]!.schedState === VCPU_STATE.FAULT, 'the fault');
    assert.match(vcpus[1]!.faultReason!, /only one GuestCpu call at a time/);
  });
});

describe('GuestCpu: the end of a program', () => {
  test('returning powers the vCPU off; powering on again starts the program afresh', async (t) => {
    const { hyp, a, vcpus } = setup(t);
    let runs = 0;
    const cap = powerOn(a, 1, async () => {
      runs++;
    });
    await hyp.scheduler.whenIdle();
    assert.equal(vcpus[1]!.schedState, VCPU_STATE.POWERED_OFF);
    assert.equal(a.call('vcpu_poweron', [cap, entryFor(1), 0, 0]).err, GH_ERROR.OK);
    await hyp.scheduler.whenIdle();
    assert.equal(runs, 2);
  });

  test('powerOff() and a successful vcpu_poweroff do not return: waits never resume, calls throw VcpuStopped', async (t) => {
    const { hyp, a, vcpus } = setup(t, 3);
    const log: string[] = [];
    const self = capTo(a, vcpus[1]!);
    powerOn(a, 1, async (cpu) => {
      log.push(ghErrorName(cpu.hvc('vcpu_poweroff', [self, 0]).err));
      try {
        cpu.hvc('hypervisor_identify');
      } catch (e) {
        log.push(e instanceof VcpuStopped ? 'stopped' : String(e));
      }
      await cpu.yield();
      log.push('1 resumed');
    });
    powerOn(a, 2, async (cpu) => {
      while (vcpus[1]!.poweredOn) await cpu.yield();
      log.push(`live ${cpu.live}`);
      await cpu.powerOff();
      log.push('2 resumed');
    });
    await hyp.scheduler.whenIdle();
    assert.deepEqual(log, ['OK', 'stopped', 'live true']);
    assert.deepEqual(vcpus.slice(1).map((v) => v.schedState), [VCPU_STATE.POWERED_OFF, VCPU_STATE.POWERED_OFF]);
  });
});
