// spec §6.1, §13.4: the FPRR scheduler (fixed priority, round robin within a priority) over emulated physical
// CPUs. Each pCPU has 64 run queues; the highest non-empty one runs, a vCPU keeps its pCPU until its timeslice
// ends, it blocks or yields, or a higher-priority vCPU becomes ready (then it goes back to the head of its queue
// with the rest of its slice, as the hypervisor's get_next_target does).
//
// Execution model. Guests are async TypeScript programs (core/guest) on one JS thread, so "running" a vCPU means
// resolving the promise its program awaits, and it runs until it awaits the next GuestCpu call. One vCPU is
// resumed at a time; pCPUs take turns, which emulates them running side by side. Hypercalls are synchronous: a
// guest that loops without ever awaiting cannot be preempted (nothing in one JS thread can), and it holds the
// whole process. A guest that awaits (yield, checkpoint, wfi) is preempted at those points when its slice ends, a
// higher-priority vCPU is ready, another pCPU has work, or the current batch of guest work (1 ms by default) is
// spent: then the scheduler gives the event loop a turn (setImmediate) before resuming anyone, so timers, I/O and
// HTTP keep running however busy the guests are. A vCPU in WFI is in no queue and costs nothing until a vIRQ
// targets it (the vIC's onPending hook calls `interrupt`).
import { performance } from 'node:perf_hooks';
import { SCHEDULER, YIELD_HINT } from '../abi/vcpu.js';
import { ARCH_TIMER_VIRQ, encodeVirqInfo } from '../abi/virq.js';
import { startGuest } from '../guest/runner.js';
import { VCPU_STATE, WAIT, type Vcpu, type VcpuState, type WaitKind } from './vcpu.js';
import type { Vic } from './vic.js';

export interface SchedulerOptions {
  /** Emulated physical CPUs; vcpu_set_affinity takes 0..pcpus-1. Default 2. */
  pcpus?: number;
  /** Guest work (ns) between two turns of the Node event loop. Default 1 ms. */
  batchNs?: number;
}

export const DEFAULT_PCPUS = 2;
export const DEFAULT_BATCH_NS = 1_000_000;

/** Why a vCPU leaves its pCPU at a GuestCpu call. */
export const LEAVE = { PREEMPT: 0, YIELD: 1, SLEEP: 2 } as const;
type Leave = (typeof LEAVE)[keyof typeof LEAVE];

const RESOLVED = Promise.resolve();

/** One emulated physical CPU: its run queues and the time guests spent on it. */
export class Pcpu {
  private readonly queues: Vcpu[][] = Array.from({ length: SCHEDULER.PRIORITY_MAX + 1 }, () => []);
  /** Highest priority whose queue may be non-empty. */
  private top = -1;
  /** Queued vCPUs. */
  count = 0;
  /** Guest run time on this pCPU. */
  busyNs = 0;

  constructor(readonly index: number) {}

  push(v: Vcpu, priority: number, atHead: boolean): void {
    const q = this.queues[priority]!;
    if (atHead) q.unshift(v);
    else q.push(v);
    this.count++;
    if (priority > this.top) this.top = priority;
    v.queuedOn = this.index;
    v.queuedPriority = priority;
  }

  /** The head of the highest non-empty queue (the caller knows count > 0). */
  pop(): Vcpu {
    while (this.queues[this.top]!.length === 0) this.top--;
    const v = this.queues[this.top]!.shift()!;
    this.count--;
    v.queuedOn = -1;
    return v;
  }

  remove(v: Vcpu): void {
    const q = this.queues[v.queuedPriority]!;
    q.splice(q.indexOf(v), 1);
    this.count--;
    v.queuedOn = -1;
  }

  /** A vCPU above `priority` is waiting. */
  hasAbove(priority: number): boolean {
    for (let p = this.top; p > priority; p--) if (this.queues[p]!.length > 0) return true;
    return false;
  }
}

export class Scheduler {
  readonly pcpus: readonly Pcpu[];
  readonly batchNs: number;
  /** Batches run (event-loop turns taken), resumptions, vCPUs found blocked outside the emulation. */
  readonly stats = { batches: 0, resumptions: 0, detached: 0 };
  private running: Vcpu | null = null;
  private resumedAt = 0;
  private batchStart = 0;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private nextPcpu = 0;
  private stopped = false;
  /** vCPUs with an armed virtual timer. */
  private readonly timers = new Set<Vcpu>();
  private idleWaiters: (() => void)[] = [];

  constructor(opts: SchedulerOptions = {}) {
    const n = opts.pcpus ?? DEFAULT_PCPUS;
    if (!(Number.isInteger(n) && n >= 1 && n <= 256)) throw new RangeError(`pcpus must be 1-256, got ${n}`);
    this.pcpus = Array.from({ length: n }, (_, i) => new Pcpu(i));
    this.batchNs = opts.batchNs ?? DEFAULT_BATCH_NS;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Stop running guests: no vCPU is resumed and virtual timers are disarmed, so nothing of the scheduler keeps the
   * process alive. Guest programs stay where they are; `start()` continues them.
   */
  stop(): void {
    this.stopped = true;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    for (const v of this.timers) {
      clearTimeout(v.timer!);
      v.timer = null;
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const v of this.timers) this.armTimer(v);
    this.kick();
  }

  /** Resolves the next time no vCPU is ready or running, while the scheduler runs (tests, orderly shutdown). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  // ---- vCPU lifecycle (core/vm/vcpu.ts) ----

  /** vcpu_poweron: a new program run; the guest starts at the vCPU's first resumption. */
  powerOn(v: Vcpu): void {
    v.generation++;
    v.startPending = true;
    v.yieldRequest = null;
    v.timerFired = false;
    this.makeReady(v);
  }

  /** The vCPU leaves the CPU for good (power-off, kill, fault, reset): its program never runs again. */
  stopVcpu(v: Vcpu, state: VcpuState): void {
    v.generation++;
    if (v.queuedOn >= 0) this.pcpus[v.queuedOn]!.remove(v);
    v.wake = null;
    v.startPending = false;
    v.granted = false;
    v.waitKind = WAIT.NONE;
    v.yieldRequest = null;
    this.cancelTimer(v);
    const wasRunning = this.running === v;
    if (wasRunning) this.account(v);
    v.schedState = state;
    if (wasRunning) {
      this.running = null;
      this.next();
    }
  }

  /** vcpu_set_affinity on an active vCPU: a ready vCPU moves now, a running one when it next leaves the CPU. */
  migrate(v: Vcpu, cpu: number): void {
    v.affinity = cpu;
    if (v.schedState !== VCPU_STATE.READY || v.granted) return;
    if (v.queuedOn >= 0) this.pcpus[v.queuedOn]!.remove(v);
    this.enqueue(v, false);
  }

  /** A VCPU_RUN_WAKEUP vIRQ was bound or unbound (spec §6.1): leave or join the normal run queues. */
  proxyChanged(v: Vcpu): void {
    if (v.schedState !== VCPU_STATE.READY || v.granted) return;
    if (v.proxy) {
      if (v.queuedOn >= 0) this.pcpus[v.queuedOn]!.remove(v);
    } else if (v.queuedOn < 0) {
      this.enqueue(v, false);
    }
  }

  /**
   * vcpu_run's slice (spec §6.2): a ready proxy-scheduled vCPU is queued once on the caller's pCPU at the caller's
   * priority (the hypervisor yields the caller's CPU to it). It runs when the scheduler next gets there, until it
   * leaves the CPU; the caller learns the outcome from its next vcpu_run.
   */
  donate(v: Vcpu, caller: Vcpu): void {
    const pcpu = caller.affinity >= 0 ? caller.affinity : Math.max(v.affinity, 0);
    this.grant(v, pcpu, caller.priority, false);
  }

  // ---- guest side (core/guest/guest-cpu.ts) ----

  /** EXPECTS_WAKEUP until `kind` happens: any interrupt for the vCPU (WFI) or its virtual timer's expiry. */
  sleep(v: Vcpu, kind: WaitKind): Promise<void> {
    return this.wait(v, LEAVE.SLEEP, kind);
  }

  /**
   * A preemption point: resolved at once unless the vCPU must leave the CPU (slice over, a higher-priority vCPU or
   * another pCPU's vCPU ready, batch spent, a scheduler_yield pending, or it is not on the CPU at all).
   */
  checkpoint(v: Vcpu): Promise<void> {
    if (this.running !== v) return this.wait(v, LEAVE.PREEMPT);
    if (v.yieldRequest !== null) return this.wait(v, LEAVE.YIELD);
    const now = performance.now();
    if ((now - this.resumedAt) * 1e6 >= v.sliceLeftNs || (now - this.batchStart) * 1e6 >= this.batchNs) {
      return this.wait(v, LEAVE.PREEMPT);
    }
    const pcpu = this.pcpus[v.runPcpu]!;
    if (pcpu.hasAbove(v.runPriority) || this.queuedElsewhere(pcpu)) return this.wait(v, LEAVE.PREEMPT);
    return RESOLVED;
  }

  /** Arm (ns >= 0) or disarm (null) the vCPU's virtual timer; expiry raises its PPI 27 and ends a timed sleep. */
  setTimer(v: Vcpu, ns: number | null): void {
    this.cancelTimer(v);
    v.timerFired = false;
    v.timerVirq.clear();
    if (ns === null) return;
    if (!v.timerVirq.bound) v.timerVirq.bind(v.vm!.vic, encodeVirqInfo(ARCH_TIMER_VIRQ.EL1_VIRTUAL, v.index), 0);
    v.timerDeadline = performance.now() + ns / 1e6;
    this.timers.add(v);
    if (!this.stopped) this.armTimer(v);
  }

  /** The vIC's onPending hook: a line became pending for vCPU `index` (-1: a shared line, any vCPU). */
  interrupt(vic: Vic, index: number): void {
    if (index >= 0) {
      this.interruptVcpu(vic.vcpuAt(index) as Vcpu | undefined);
      return;
    }
    for (let i = 0; i < vic.maxVcpus; i++) this.interruptVcpu(vic.vcpuAt(i) as Vcpu | undefined);
  }

  // ---- internals ----

  /** The guest program leaves the CPU until the scheduler resumes it (resolves the returned promise). */
  private wait(v: Vcpu, leave: Leave, kind: WaitKind = WAIT.NONE): Promise<void> {
    if (v.wake !== null) {
      return Promise.reject(new Error('a guest program may await only one GuestCpu call at a time'));
    }
    const resumed = new Promise<void>((resolve) => {
      v.wake = resolve;
    });
    this.leaveCpu(v, leave, kind);
    return resumed;
  }

  private interruptVcpu(v: Vcpu | undefined): void {
    if (v?.waitKind === WAIT.WFI) this.wakeUp(v);
  }

  private wakeUp(v: Vcpu): void {
    v.waitKind = WAIT.NONE;
    v.stats.wakeups++;
    this.makeReady(v);
  }

  /** Runnable again after being off or asleep: a fresh slice at the tail (add_thread_to_scheduler). */
  private makeReady(v: Vcpu): void {
    v.schedState = VCPU_STATE.READY;
    this.freshSlice(v);
    // spec §6.2: a proxy-scheduled vCPU waits for vcpu_run; its caller learns through the wakeup vIRQ.
    if (v.proxy) v.wakeupVirq.assert();
    else this.enqueue(v, false);
  }

  private freshSlice(v: Vcpu): void {
    v.sliceLeftNs = v.timesliceNs;
    v.sliceFresh = true;
  }

  private enqueue(v: Vcpu, atHead: boolean): void {
    if (v.granted) this.pcpus[v.grantPcpu]!.push(v, v.grantPriority, atHead);
    else if (!v.proxy && v.affinity >= 0) this.pcpus[v.affinity]!.push(v, v.priority, atHead);
    else return; // runs only when a slice is donated (vcpu_run, a directed yield)
    this.kick();
  }

  private grant(v: Vcpu, pcpu: number, priority: number, atHead: boolean): void {
    if (v.schedState !== VCPU_STATE.READY || v.granted || this.running === v) return;
    if (v.queuedOn >= 0) this.pcpus[v.queuedOn]!.remove(v);
    v.granted = true;
    v.grantPcpu = pcpu;
    v.grantPriority = priority;
    this.enqueue(v, atHead);
  }

  private leaveCpu(v: Vcpu, leave: Leave, kind: WaitKind): void {
    const wasRunning = this.running === v;
    if (wasRunning) {
      this.account(v);
      this.running = null;
    }
    if (leave === LEAVE.SLEEP) {
      v.schedState = VCPU_STATE.EXPECTS_WAKEUP;
      v.waitKind = kind;
      v.granted = false; // a donated slice ends when the vCPU blocks
    } else if (leave === LEAVE.YIELD) {
      this.yieldCpu(v);
    } else {
      v.schedState = VCPU_STATE.READY;
      if (v.sliceLeftNs > 0) {
        this.enqueue(v, true);
      } else {
        v.granted = false; // a donated slice ends with the slice
        this.freshSlice(v);
        this.enqueue(v, false);
      }
    }
    if (wasRunning) this.next();
    else this.kick();
  }

  /**
   * scheduler_yield (spec §6.1): the rest of the slice is given up. Yield-to moves the target to the head of this
   * pCPU at this priority (when it may run here: same or no affinity); yield-lower queues the yielder once at the
   * lower priority given.
   */
  private yieldCpu(v: Vcpu): void {
    const req = v.yieldRequest;
    v.yieldRequest = null;
    const pcpu = v.runPcpu;
    const priority = v.runPriority;
    v.schedState = VCPU_STATE.READY;
    v.granted = false;
    this.freshSlice(v);
    if (req?.hint === YIELD_HINT.LOWER_PRIORITY && !v.proxy && v.affinity >= 0) {
      this.pcpus[v.affinity]!.push(v, req.arg, false);
      this.kick();
    } else {
      this.enqueue(v, false);
    }
    const target = req?.target;
    if (target && (target.affinity < 0 || target.affinity === pcpu)) this.grant(target, pcpu, priority, true);
  }

  private queuedElsewhere(pcpu: Pcpu): boolean {
    for (const other of this.pcpus) if (other !== pcpu && other.count > 0) return true;
    return false;
  }

  private account(v: Vcpu): void {
    const ns = (performance.now() - this.resumedAt) * 1e6;
    v.stats.runNs += ns;
    v.sliceLeftNs -= ns;
    this.pcpus[v.runPcpu]!.busyNs += ns;
  }

  /** Ask for a turn of the event loop (idempotent): a batch starts at the next check phase. */
  private kick(): void {
    if (this.immediate === null && !this.stopped) this.immediate = setImmediate(this.tick);
  }

  private readonly tick = (): void => {
    this.immediate = null;
    if (this.stopped) return;
    this.stats.batches++;
    const v = this.running;
    if (v !== null) {
      // The event loop turned while a vCPU was on the CPU: its program awaits something outside the emulation
      // (a foreign promise). It is BLOCKED until its next GuestCpu call puts it back in a queue.
      this.account(v);
      this.running = null;
      v.schedState = VCPU_STATE.BLOCKED;
      this.stats.detached++;
    }
    this.batchStart = performance.now();
    this.next();
  };

  /** Resume the next vCPU, or hand the event loop a turn when the batch is spent, or go idle. */
  private next(): void {
    if (this.stopped || this.running !== null) return;
    if ((performance.now() - this.batchStart) * 1e6 >= this.batchNs) {
      this.kick();
      return;
    }
    const v = this.pick();
    if (v === null) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    this.resume(v);
  }

  /** pCPUs take turns; on each, the head of the highest non-empty queue. */
  private pick(): Vcpu | null {
    const n = this.pcpus.length;
    for (let k = 0; k < n; k++) {
      const pcpu = this.pcpus[(this.nextPcpu + k) % n]!;
      if (pcpu.count === 0) continue;
      this.nextPcpu = (pcpu.index + 1) % n;
      const v = pcpu.pop();
      v.runPcpu = pcpu.index;
      v.runPriority = v.queuedPriority;
      return v;
    }
    return null;
  }

  private resume(v: Vcpu): void {
    this.running = v;
    v.schedState = VCPU_STATE.RUNNING;
    if (v.sliceFresh) {
      v.sliceFresh = false;
      v.stats.slices++;
    }
    v.stats.resumptions++;
    this.stats.resumptions++;
    this.kick(); // this batch's event-loop turn; it also finds a program that awaits something foreign
    this.resumedAt = performance.now();
    if (v.startPending) {
      v.startPending = false;
      const generation = v.generation;
      queueMicrotask(() => {
        if (v.generation === generation) startGuest(v);
      });
    } else {
      const wake = v.wake!;
      v.wake = null;
      wake();
    }
  }

  private armTimer(v: Vcpu): void {
    v.timer = setTimeout(() => this.expire(v), Math.max(0, v.timerDeadline - performance.now()));
  }

  private cancelTimer(v: Vcpu): void {
    if (v.timer !== null) clearTimeout(v.timer);
    v.timer = null;
    this.timers.delete(v);
  }

  private expire(v: Vcpu): void {
    // Node schedules timers on the event loop's cached clock, so on a busy loop one can fire a millisecond or more
    // before its deadline; the virtual timer never fires before its compare value, so wait out what is left.
    if (v.timerDeadline > performance.now()) {
      this.armTimer(v);
      return;
    }
    v.timer = null;
    this.timers.delete(v);
    v.timerFired = true;
    v.timerVirq.assert();
    if (v.waitKind === WAIT.TIMER) this.wakeUp(v);
  }
}
