import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import { allRights, right } from '../../core/abi/objects.js';
import {
  VCPU_RUN_POWEROFF_FLAG, VCPU_RUN_STATE, VCPU_SLEEP_STATE_WFI, VCPU_VIRQ_TYPE, VCPU_WAKEUP_FROM,
} from '../../core/abi/vcpu.js';
import type { GuestProgram } from '../../core/guest/guest-cpu.js';
import type { CallResult } from '../../core/hyp/call.js';
import { VCPU_STATE } from '../../core/vm/vcpu.js';
import { VirqSource } from '../../core/vm/vic.js';
import { capTo, entryFor, until } from '../helpers/guest-fixture.js';
import { hypFixture } from '../helpers/hyp-fixture.js';

/** The caller's (HLOS) SPIs for the guest vCPU's wakeup and halt lines. */
const WAKEUP_VIRQ = 50;
const HALT_VIRQ = 51;

/**
 * VM `a` plays the HLOS: its vCPU 0 holds a capability to VM `b`'s only vCPU and drives it with vcpu_run, as the
 * Linux VM manager does (spec §6.3).
 */
function proxy(t: TestContext, program?: GuestProgram) {
  const { hyp, a, b } = hypFixture({ vms: 2 });
  t.after(() => hyp.scheduler.stop());
  const guest = b.vm.vcpus[0]!;
  const cap = capTo(a, guest);
  if (program) b.vm.programs.set(entryFor(0), program);
  const ok = (r: CallResult, what: string): CallResult => {
    assert.equal(ghErrorName(r.err), 'OK', what);
    return r;
  };
  return {
    hyp, a, b, guest, cap,
    bindWakeup: () => ok(a.call('vcpu_bind_virq', [cap, a.vic, WAKEUP_VIRQ, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP, 0]), 'bind wakeup'),
    powerOn: () => ok(a.call('vcpu_poweron', [cap, entryFor(0), 0, 0]), 'vcpu_poweron'),
    run: () => a.call('vcpu_run', [cap, 0, 0, 0, 0]),
    check: () => a.call('vcpu_run_check', [cap, 0]),
    /** The wakeup vIRQ is pending in the caller's vIC; acknowledging it clears it. */
    takeWakeup: (): boolean => a.vm.vic.acknowledge(0) === WAKEUP_VIRQ,
  };
}

/** state, data0, data1, data2 of a vcpu_run or vcpu_run_check result. */
const runState = (r: CallResult): number[] => {
  assert.equal(ghErrorName(r.err), 'OK');
  return r.x.slice(1, 5).map(Number);
};
const READY = [VCPU_RUN_STATE.READY, 0, 0, 0];
const WFI = [VCPU_RUN_STATE.EXPECTS_WAKEUP, VCPU_SLEEP_STATE_WFI, VCPU_WAKEUP_FROM.WFI, 0];
const ms = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n));

describe('proxy scheduling (spec §6.2, §6.3)', () => {
  test('vcpu_run is BUSY until a VCPU_RUN_WAKEUP vIRQ is bound; then the vCPU runs only inside vcpu_run', async (t) => {
    let started = false;
    const p = proxy(t, async () => {
      started = true;
    });
    assert.equal(ghErrorName(p.run().err), 'ERROR_BUSY');
    p.bindWakeup();
    p.powerOn();
    assert.ok(p.takeWakeup(), 'power-on raises the wakeup vIRQ in the caller\'s vIC');
    await ms(20);
    assert.equal(started, false, 'not started by the scheduler on its own');
    assert.equal(p.guest.stats.resumptions, 0);
    assert.equal(p.guest.schedState, VCPU_STATE.READY);
  });

  test('each vcpu_run grants one slice: READY means call again, then EXPECTS_WAKEUP reports the WFI', async (t) => {
    const log: string[] = [];
    const p = proxy(t, async (cpu) => {
      log.push('start');
      await cpu.yield();
      log.push('after yield');
      await cpu.wfi();
    });
    p.bindWakeup();
    p.powerOn();
    assert.deepEqual(runState(p.run()), READY);
    assert.deepEqual(log, [], 'the slice runs after the call returns');
    assert.deepEqual(runState(p.run()), READY, 'a second call before the slice ran adds nothing');
    await until(() => log.length === 1, 'the first slice');
    await ms(10);
    assert.deepEqual(log, ['start'], 'after its slice the vCPU waits for the next vcpu_run');
    assert.deepEqual(runState(p.run()), READY);
    await until(() => p.guest.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'the second slice ends in WFI');
    assert.deepEqual(log, ['start', 'after yield']);
    assert.deepEqual(runState(p.run()), WFI);
    assert.equal(p.guest.stats.slices, 2);
  });

  test('an interrupt for the waiting vCPU raises the wakeup vIRQ in the caller\'s vIC; vcpu_run then resumes it', async (t) => {
    const got: number[] = [];
    const p = proxy(t, async (cpu) => {
      for (;;) {
        const virq = await cpu.wfi();
        got.push(virq);
        cpu.eoi(virq);
      }
    });
    p.bindWakeup();
    p.powerOn();
    p.takeWakeup();
    p.run();
    await until(() => p.guest.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'WFI');
    assert.deepEqual(runState(p.run()), WFI);
    assert.equal(p.takeWakeup(), false, 'nothing pending while the guest sleeps');

    const line = new VirqSource();
    assert.equal(line.bind(p.b.vm.vic, 60, 0), GH_ERROR.OK);
    line.assert();
    assert.equal(p.guest.schedState, VCPU_STATE.READY);
    assert.ok(p.takeWakeup(), 'the caller is woken');
    await ms(10);
    assert.deepEqual(got, [], 'the guest waits for its slice');
    assert.deepEqual(runState(p.run()), READY);
    await until(() => got.length === 1, 'the guest takes its interrupt');
    assert.deepEqual(got, [60]);
  });

  test('POWERED_OFF before power-on, after the program returns, and with the exited flag after vcpu_kill', async (t) => {
    const p = proxy(t, async (cpu) => {
      await cpu.yield();
    });
    p.bindWakeup();
    const off = [VCPU_RUN_STATE.POWERED_OFF, 0, 0, 0];
    assert.deepEqual(runState(p.run()), off);
    p.powerOn();
    assert.deepEqual(runState(p.run()), READY);
    await until(() => p.guest.stats.slices === 1 && p.guest.schedState === VCPU_STATE.READY, 'the first slice');
    assert.deepEqual(runState(p.run()), READY);
    await until(() => p.guest.schedState === VCPU_STATE.POWERED_OFF, 'the program ends');
    assert.deepEqual(runState(p.run()), off);

    p.powerOn();
    p.takeWakeup();
    assert.equal(ghErrorName(p.a.call('vcpu_kill', [p.cap, 0]).err), 'OK');
    assert.ok(p.takeWakeup(), 'a kill wakes the caller');
    assert.deepEqual(runState(p.run()), [VCPU_RUN_STATE.POWERED_OFF, VCPU_RUN_POWEROFF_FLAG.EXITED, 0, 0]);
  });

  test('FAULT when the program throws, with the HALT vIRQ raised in the caller\'s vIC', async (t) => {
    const p = proxy(t, async () => {
      throw new Error('guest bug');
    });
    p.bindWakeup();
    assert.equal(p.a.call('vcpu_bind_virq', [p.cap, p.a.vic, HALT_VIRQ, VCPU_VIRQ_TYPE.HALT, 0]).err, GH_ERROR.OK);
    p.powerOn();
    assert.deepEqual(runState(p.run()), READY);
    await until(() => p.guest.schedState === VCPU_STATE.FAULT, 'the fault');
    assert.deepEqual(runState(p.run()), [VCPU_RUN_STATE.FAULT, 0, 0, 0]);
    assert.ok(p.a.vm.vic.isPending(HALT_VIRQ));
  });

  test('vcpu_run_check is BUSY while the vCPU is runnable and reports its state once halted', async (t) => {
    const p = proxy(t, async (cpu) => {
      await cpu.wfi();
    });
    p.bindWakeup();
    assert.deepEqual(runState(p.check()), [VCPU_RUN_STATE.POWERED_OFF, 0, 0, 0]);
    p.powerOn();
    assert.equal(ghErrorName(p.check().err), 'ERROR_BUSY');
    p.run();
    await until(() => p.guest.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'WFI');
    assert.deepEqual(runState(p.check()), WFI);
    const noState = capTo(p.a, p.guest, (allRights('thread') & ~right('thread', 'state')) >>> 0);
    assert.equal(ghErrorName(p.a.call('vcpu_run_check', [noState, 0]).err), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  });

  test('unbinding the wakeup vIRQ hands a ready vCPU back to the normal scheduler', async (t) => {
    let started = false;
    const p = proxy(t, async () => {
      started = true;
    });
    p.bindWakeup();
    p.powerOn();
    await ms(10);
    assert.equal(started, false);
    assert.equal(p.a.call('vcpu_unbind_virq', [p.cap, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP, 0]).err, GH_ERROR.OK);
    await until(() => started, 'the program runs on its own');
    assert.equal(ghErrorName(p.run().err), 'ERROR_BUSY');
  });
});

describe('vcpu_run errors (spec §6.2)', () => {
  test('OBJECT_STATE for an inactive vCPU, rights AFFINITY and YIELD_TO, capid and reserved-argument checks', (t) => {
    const p = proxy(t);
    p.bindWakeup();
    const run = (cap: bigint, reserved = 0) => ghErrorName(p.a.call('vcpu_run', [cap, 0, 0, 0, reserved]).err);
    assert.equal(run(p.a.create('thread')), 'ERROR_OBJECT_STATE');
    for (const name of ['affinity', 'yield_to'] as const) {
      const weak = capTo(p.a, p.guest, (allRights('thread') & ~right('thread', name)) >>> 0);
      assert.equal(run(weak), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS', `without ${name}`);
    }
    assert.equal(run(p.a.vic), 'ERROR_CSPACE_WRONG_OBJECT_TYPE');
    assert.equal(run(0xffff_ffff_0000_0000n), 'ERROR_ARGUMENT_INVALID', 'an undecodable capid');
    assert.equal(run(p.cap, 1), 'ERROR_ARGUMENT_INVALID', 'X5 must be 0');
    assert.equal(run(p.cap), 'OK');
  });
});
