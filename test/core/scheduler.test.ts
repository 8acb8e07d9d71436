import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import { allRights } from '../../core/abi/objects.js';
import { YIELD_HINT } from '../../core/abi/vcpu.js';
import type { GuestCpu, GuestProgram } from '../../core/guest/guest-cpu.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { VCPU_STATE, type Vcpu } from '../../core/vm/vcpu.js';
import { VirqSource } from '../../core/vm/vic.js';
import { start, until } from '../helpers/guest-fixture.js';
import { hypFixture, RAM_BASE, RAM_SIZE } from '../helpers/hyp-fixture.js';

interface VcpuSpec {
  priority?: number;
  timesliceNs?: number;
  affinity?: number;
}

/** A hypervisor with `pcpus` pCPUs and one VM whose vCPUs are configured (while INIT) as `specs` say. */
function machine(t: TestContext, specs: VcpuSpec[], pcpus = 2) {
  const hyp = new Hypervisor({ seed: 1, pcpus });
  t.after(() => hyp.scheduler.stop());
  const { vm } = hyp.createVm({
    vmid: 0x80, name: 'sched', vcpus: specs.length, ram: { base: RAM_BASE, size: RAM_SIZE },
    configureVcpu: (v) => {
      const s = specs[v.index]!;
      if (s.priority !== undefined) assert.equal(v.setPriority(s.priority), GH_ERROR.OK);
      if (s.timesliceNs !== undefined) assert.equal(v.setTimeslice(s.timesliceNs), GH_ERROR.OK);
      if (s.affinity !== undefined) assert.equal(v.setAffinity(s.affinity), GH_ERROR.OK);
    },
  });
  return { hyp, vm, vcpus: vm.vcpus as Vcpu[] };
}

// These machines are shared and often loaded: the OS takes the whole process away for tens of milliseconds at
// times, and the scheduler (like a hypervisor) charges wall time. So shares are measured in fixed units of
// computation done (the CPU a vCPU really got), and the event loop's turns are counted, not timed.
let sink = 0;
/** A fixed amount of computation (about 30 us here): small against a 1 ms slice, so slices end on time. */
function workUnit(): void {
  let x = sink;
  for (let i = 0; i < 4_000; i++) x = (x + i * 7) % 1_000_003;
  sink = x;
}

/** Busy guest work in units between preemption points, until `done()`; units[index] counts them. */
const worker = (units: number[], done: () => boolean): GuestProgram => async (cpu) => {
  while (!done()) {
    workUnit();
    units[cpu.index]!++;
    await cpu.checkpoint();
  }
};

const ms = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n));
const shares = (units: number[]): number[] => {
  const total = units.reduce((sum, n) => sum + n, 0);
  return units.map((n) => n / total);
};
const totalSlices = (vcpus: Vcpu[]): number => vcpus.reduce((n, v) => n + v.stats.slices, 0);

describe('FPRR priorities (spec §6.1, §13.4)', () => {
  test('a higher-priority ready vCPU runs before a lower one on the same pCPU', async (t) => {
    const { hyp, vcpus } = machine(t, [{ priority: 20 }, { priority: 40 }], 1);
    const log: number[] = [];
    const worker: GuestProgram = async (cpu) => {
      for (let i = 0; i < 20; i++) {
        log.push(cpu.index);
        workUnit();
        await cpu.checkpoint();
      }
    };
    start(vcpus[0]!, worker);
    start(vcpus[1]!, worker);
    await hyp.scheduler.whenIdle();
    assert.deepEqual(log, [...Array<number>(20).fill(1), ...Array<number>(20).fill(0)]);
  });

  test('a vCPU woken from WFI preempts a lower-priority one at its next preemption point', async (t) => {
    const { hyp, vm, vcpus } = machine(t, [{ priority: 20 }, { priority: 40 }], 1);
    const line = new VirqSource();
    assert.equal(line.bind(vm.vic, 40, 0), GH_ERROR.OK);
    const log: string[] = [];
    start(vcpus[1]!, async (cpu) => {
      log.push(`high woke on ${await cpu.wfi()}`);
    });
    start(vcpus[0]!, async (cpu) => {
      for (let i = 0; i < 12; i++) {
        log.push('low');
        if (i === 5) line.assert();
        await cpu.checkpoint();
      }
    });
    await hyp.scheduler.whenIdle();
    assert.deepEqual(log, [...Array<string>(6).fill('low'), 'high woke on 40', ...Array<string>(6).fill('low')]);
  });
});

describe('round robin and time slices (spec §6.1)', () => {
  test('equal priorities on one pCPU take turns slice by slice and share it fairly', async (t) => {
    const { hyp, vcpus } = machine(t, [0, 1, 2].map(() => ({ timesliceNs: 1_000_000 })), 1);
    const units = [0, 0, 0];
    for (const v of vcpus) start(v, worker(units, () => totalSlices(vcpus) >= 300));
    await hyp.scheduler.whenIdle();
    const slices = vcpus.map((v) => v.stats.slices);
    assert.ok(Math.max(...slices) - Math.min(...slices) <= 1, `strict turns: slices ${slices}`);
    for (const [i, share] of shares(units).entries()) {
      assert.ok(share > 0.26 && share < 0.41, `vCPU ${i} did ${(share * 100).toFixed(1)}% of the work (${units})`);
    }
  });

  test('each vCPU keeps the pCPU for its own timeslice: slices of 4 ms and 1 ms alternate', async (t) => {
    const { hyp, vcpus } = machine(t, [{ timesliceNs: 4_000_000 }, { timesliceNs: 1_000_000 }], 1);
    // Each program notes the run time of every slice it had: the growth of its run time between slice starts.
    const sliceMs: number[][] = [[], []];
    const program: GuestProgram = async (cpu) => {
      const me = vcpus[cpu.index]!;
      let slice = me.stats.slices;
      let startNs = me.stats.runNs;
      while (totalSlices(vcpus) < 120) {
        workUnit();
        await cpu.checkpoint();
        if (me.stats.slices !== slice) {
          sliceMs[cpu.index]!.push((me.stats.runNs - startNs) / 1e6);
          slice = me.stats.slices;
          startNs = me.stats.runNs;
        }
      }
    };
    for (const v of vcpus) start(v, program);
    await hyp.scheduler.whenIdle();
    const [long, short] = vcpus.map((v) => v.stats.slices) as [number, number];
    assert.ok(Math.abs(long - short) <= 1, `slices alternate: ${long} and ${short}`);
    const [a, b] = sliceMs as [number[], number[]];
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    t.diagnostic(`median slices ${median(a).toFixed(2)} ms and ${median(b).toFixed(2)} ms`);
    // Slices are wall time: when the OS takes the process away mid-slice, that slice runs long. No slice ends
    // early, and the slices nothing interrupted end within a work unit of their time.
    assert.ok(Math.min(...a) >= 4 - 1e-6 && Math.min(...b) >= 1 - 1e-6, 'no slice ends before its time');
    assert.ok(Math.min(...a) < 4.5, `the 4 ms slices: ${a.map((x) => x.toFixed(2))}`);
    assert.ok(Math.min(...b) < 1.5, `the 1 ms slices: ${b.map((x) => x.toFixed(2))}`);
  });
});

describe('affinity (spec §6.1)', () => {
  test('vCPUs on different pCPUs both run whatever their priorities; moved onto the busy pCPU, the lower one waits', async (t) => {
    const { hyp, vcpus } = machine(t, [{ priority: 40, affinity: 0 }, { priority: 20, affinity: 1 }], 2);
    const low = vcpus[1]!;
    const units = [0, 0];
    let finish = false;
    for (const v of vcpus) start(v, worker(units, () => finish));
    await until(() => units[0]! + units[1]! >= 400, '400 units of work');
    const [, lowShare] = shares(units);
    assert.ok(lowShare! > 0.35 && lowShare! < 0.65, `the low vCPU on its own pCPU did ${(lowShare! * 100).toFixed(1)}%`);
    assert.equal(hyp.scheduler.pcpus[1]!.busyNs, low.stats.runNs, 'pCPU 1 ran only the low vCPU');

    assert.equal(low.setAffinity(0), GH_ERROR.OK);
    await until(() => low.queuedOn === 0, 'the low vCPU queued on pCPU 0');
    const lowUnits = units[1];
    const highUnits = units[0]!;
    await until(() => units[0]! >= highUnits + 200, 'the high vCPU works on');
    assert.equal(units[1], lowUnits, 'behind a busy higher-priority vCPU on the same pCPU it does not run');
    finish = true;
    await hyp.scheduler.whenIdle();
    assert.equal(low.schedState, VCPU_STATE.POWERED_OFF, 'it ran to its end once the high one finished');
  });
});

describe('WFI (spec §6.2 EXPECTS_WAKEUP)', () => {
  test('a vCPU waiting for an interrupt is never resumed, and the scheduler does not run, until a vIRQ targets it', async (t) => {
    const { hyp, vm, vcpus } = machine(t, [{}]);
    const v = vcpus[0]!;
    const got: number[] = [];
    start(v, async (cpu) => {
      for (;;) {
        const virq = await cpu.wfi();
        got.push(virq);
        cpu.eoi(virq);
      }
    });
    await until(() => v.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'WFI');
    await ms(5);
    const resumptions = v.stats.resumptions;
    const batches = hyp.scheduler.stats.batches;
    await ms(50);
    assert.equal(v.stats.resumptions, resumptions, 'no resumptions while idle');
    assert.equal(hyp.scheduler.stats.batches, batches, 'no scheduler turns while idle');

    const line = new VirqSource();
    assert.equal(line.bind(vm.vic, 45, 0), GH_ERROR.OK);
    line.assert();
    await until(() => got.length === 1, 'the wakeup');
    assert.deepEqual(got, [45]);
    assert.equal(v.stats.wakeups, 1);
    await until(() => v.schedState === VCPU_STATE.EXPECTS_WAKEUP, 'WFI again');
  });
});

describe('busy guests and the event loop', () => {
  test('guests looping on yield and on checkpoint starve neither each other nor the event loop', async (t) => {
    const { hyp, vcpus } = machine(t, [{ affinity: 0 }, { affinity: 0 }, { affinity: 1 }], 2);
    const counts = [0, 0, 0];
    const yielder: GuestProgram = async (cpu) => {
      for (;;) {
        counts[cpu.index]!++;
        await cpu.yield();
      }
    };
    start(vcpus[0]!, yielder);
    start(vcpus[1]!, yielder);
    start(vcpus[2]!, async (cpu: GuestCpu) => {
      for (;;) {
        counts[2]!++;
        await cpu.checkpoint();
      }
    });
    // An immediate that re-arms itself runs once per turn of the event loop: it must keep pace with the
    // scheduler's batches (one turn per batch). A 1 ms timer chain must keep firing (its gaps are reported).
    let turns = 0;
    let counting = true;
    const countTurn = (): void => {
      turns++;
      if (counting) setImmediate(countTurn);
    };
    setImmediate(countTurn);
    const batchesBefore = hyp.scheduler.stats.batches;
    let maxGap = 0;
    let last = performance.now();
    for (let i = 0; i < 50; i++) {
      await ms(1);
      maxGap = Math.max(maxGap, performance.now() - last);
      last = performance.now();
    }
    counting = false;
    const batches = hyp.scheduler.stats.batches - batchesBefore;
    t.diagnostic(`${batches} batches, ${turns} event-loop turns, longest 1 ms timer gap ${maxGap.toFixed(1)} ms`);
    assert.ok(batches >= 10, `${batches} batches`);
    assert.ok(turns >= batches - 1, `${turns} event-loop turns for ${batches} batches`);
    for (const [i, n] of counts.entries()) assert.ok(n > 100, `vCPU ${i} made ${n} rounds`);
    const [a, b] = counts as [number, number];
    assert.ok(Math.abs(a - b) <= 1, `two yielders on one pCPU alternate (${a} and ${b})`);
  });

  test('a program awaiting something outside the emulation is BLOCKED while the others run', async (t) => {
    const { hyp, vcpus } = machine(t, [{ affinity: 0 }, { affinity: 0 }], 1);
    const log: string[] = [];
    start(vcpus[0]!, async (cpu) => {
      log.push('A before');
      await ms(100);
      log.push('A after');
      await cpu.yield();
      log.push('A done');
    });
    start(vcpus[1]!, async (cpu) => {
      for (let i = 0; i < 3; i++) {
        log.push('B');
        await cpu.sleep(1_000_000);
      }
    });
    await until(() => vcpus[0]!.schedState === VCPU_STATE.BLOCKED, 'A blocked');
    assert.equal(hyp.scheduler.stats.detached, 1);
    await until(() => vcpus.every((v) => v.schedState === VCPU_STATE.POWERED_OFF), 'both programs end');
    const between = log.slice(log.indexOf('A before'), log.indexOf('A after'));
    assert.ok(between.includes('B'), `B ran while A was blocked: ${log}`);
    assert.ok(log.includes('A done'), 'A carried on after its outside wait');
  });
});

describe('scheduler_yield (spec §6.1)', () => {
  test('yield-to runs the target vCPU next on this pCPU', async (t) => {
    const { hyp, vm, vcpus } = machine(t, [{}, {}, {}].map(() => ({ affinity: 0 })), 1);
    const cap = vm.cspace.insert(vcpus[2]!, allRights('thread'));
    assert.ok(typeof cap !== 'number');
    const toC = vm.cspace.capid(cap.slot);
    const log: string[] = [];
    start(vcpus[0]!, async (cpu) => {
      log.push('A');
      assert.equal(await cpu.yield(YIELD_HINT.YIELD_TO, toC), GH_ERROR.OK);
      log.push('A again');
    });
    start(vcpus[1]!, async () => {
      log.push('B');
    });
    start(vcpus[2]!, async () => {
      log.push('C');
    });
    await hyp.scheduler.whenIdle();
    assert.deepEqual(log, ['A', 'C', 'B', 'A again']);
  });

  test('yield to lower priority lets a lower-priority vCPU run; a plain yield does not', async (t) => {
    for (const [hint, expected] of [
      [YIELD_HINT.LOWER_PRIORITY, 'HLHHH'],
      [YIELD_HINT.GENERIC, 'HHHHL'],
    ] as const) {
      const { hyp, vcpus } = machine(t, [{ priority: 40 }, { priority: 10 }], 1);
      let log = '';
      start(vcpus[0]!, async (cpu) => {
        for (let i = 0; i < 4; i++) {
          log += 'H';
          await cpu.yield(hint, 10);
        }
      });
      start(vcpus[1]!, async () => {
        log += 'L';
      });
      await hyp.scheduler.whenIdle();
      assert.equal(log, expected, `hint ${hint}`);
    }
  });

  test('rejects bit 31, unknown hints, a priority above the caller\'s and a bad yield-to capid', (t) => {
    const { hyp, a } = hypFixture({ vms: 1 });
    t.after(() => hyp.scheduler.stop());
    const yieldErr = (control: number, arg: bigint | number) => ghErrorName(a.call('scheduler_yield', [control, arg, 0]).err);
    assert.equal(yieldErr(YIELD_HINT.GENERIC, 0), 'OK');
    assert.equal(yieldErr(0x80000000, 0), 'ERROR_ARGUMENT_INVALID');
    assert.equal(yieldErr(3, 0), 'ERROR_ARGUMENT_INVALID');
    assert.equal(yieldErr(YIELD_HINT.LOWER_PRIORITY, 33), 'ERROR_ARGUMENT_INVALID');
    assert.equal(yieldErr(YIELD_HINT.LOWER_PRIORITY, 32), 'OK');
    assert.equal(yieldErr(YIELD_HINT.YIELD_TO, a.vic), 'ERROR_CSPACE_WRONG_OBJECT_TYPE');
    assert.equal(yieldErr(YIELD_HINT.YIELD_TO, 0xdead_0000_0000n), 'ERROR_ARGUMENT_INVALID');
  });
});

describe('stopping the scheduler', () => {
  test('stop() freezes the guests and start() continues them', async (t) => {
    const { hyp, vcpus } = machine(t, [{}]);
    let rounds = 0;
    start(vcpus[0]!, async (cpu) => {
      for (;;) {
        rounds++;
        await cpu.sleep(100_000);
      }
    });
    await until(() => rounds > 5, 'the guest runs');
    hyp.scheduler.stop();
    assert.equal(hyp.scheduler.isStopped, true);
    await ms(5);
    const frozen = rounds;
    await ms(30);
    assert.equal(rounds, frozen);
    hyp.scheduler.start();
    await until(() => rounds > frozen + 5, 'the guest runs again');
  });

  test('after stop() nothing holds the process: it exits with guests asleep in WFI and on timers', async () => {
    const hypervisor = new URL('../../core/hyp/hypervisor.js', import.meta.url).href;
    const script = `
      import { Hypervisor } from '${hypervisor}';
      const hyp = new Hypervisor({ seed: 1 });
      const { vm } = hyp.createVm({ vmid: 0x80, name: 'x', vcpus: 2 });
      vm.programs.set(0x1000, async (cpu) => {
        for (;;) if (cpu.index === 0) await cpu.wfi(); else await cpu.sleep(1e6);
      });
      for (const v of vm.vcpus) v.powerOn(0x1000n, 0n);
      setTimeout(() => { hyp.scheduler.stop(); console.log('stopped'); }, 30);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill();
        resolve(null);
      }, 5000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, 'the process exited by itself');
    assert.equal(out.trim(), 'stopped');
  });
});
