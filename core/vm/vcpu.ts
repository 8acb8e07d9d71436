// spec §6: a vCPU is a thread object. Its registers X0-X7 are what hypercalls read and write; the rest of its
// context (X8-X30, PC, SP_EL0/1) is written by vcpu_register_write and read by its guest program. The logic here
// follows the hypervisor's vcpu module (H-VCPU); when and where the vCPU runs is core/vm/scheduler.ts.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { OBJECT_STATE } from '../abi/objects.js';
import {
  SCHEDULER, VCPU_OPTION, VCPU_REG_INDEX_MAX, VCPU_REG_SET, VCPU_VIRQ_TYPE,
} from '../abi/vcpu.js';
import { HypObject } from '../hyp/object.js';
import { getReg, newRegisterFile, setReg } from '../hyp/regs.js';
import { VirqSource, type Vic } from './vic.js';
import type { Vm } from './vm.js';

/**
 * A vCPU's scheduling state as sysfs and the `gunyah_vcpu_state` metric show it. Not a Gunyah number (vcpu_run
 * reports its own encoding, spec §6.2): BLOCKED is a guest program waiting on something outside the emulation.
 */
export const VCPU_STATE = { POWERED_OFF: 0, READY: 1, RUNNING: 2, EXPECTS_WAKEUP: 3, BLOCKED: 4, FAULT: 5 } as const;
export type VcpuState = (typeof VCPU_STATE)[keyof typeof VCPU_STATE];
export const VCPU_STATE_NAMES = ['powered_off', 'ready', 'running', 'expects_wakeup', 'blocked', 'fault'] as const;

/** What a vCPU in EXPECTS_WAKEUP waits for: any interrupt (WFI) or its own virtual timer (a timed sleep). */
export const WAIT = { NONE: 0, WFI: 1, TIMER: 2 } as const;
export type WaitKind = (typeof WAIT)[keyof typeof WAIT];

const KNOWN_OPTIONS = Object.values(VCPU_OPTION).reduce((mask, bit) => mask | (1n << BigInt(bit)), 0n);
const PINNED = 1n << BigInt(VCPU_OPTION.PINNED);
const X_REGISTERS = VCPU_REG_INDEX_MAX[VCPU_REG_SET.X] + 1;
/** X0-X7 live in `regs` (the hypercall window); the others here. */
const WINDOW = 8;

export class Vcpu extends HypObject {
  readonly type = 'thread' as const;
  readonly regs = newRegisterFile();
  /** The VM whose address space, cspace and vIC this vCPU uses (set when attached). */
  vm: Vm | null = null;
  /** Index in the VM (the vIC attachment index and the RM resource label). */
  index = 0;
  priority: number = SCHEDULER.PRIORITY_DEFAULT;
  timesliceNs: number = SCHEDULER.TIMESLICE_DEFAULT_NS;
  /** Emulated physical CPU index, or CPU_INDEX_INVALID (-1): then it runs only through directed yields. */
  affinity = 0;
  /** vcpu_configure option flags (VCPU_OPTION bits). */
  options = 0n;
  /** Hypercalls made by this vCPU. */
  hypercalls = 0;

  private readonly xHigh = new BigUint64Array(X_REGISTERS - WINDOW);
  pc = 0n;
  readonly sp = new BigUint64Array(VCPU_REG_INDEX_MAX[VCPU_REG_SET.SP_EL] + 1);

  /** The scheduling state (`state` is the object's lifecycle state, spec §1.4). */
  schedState: VcpuState = VCPU_STATE.POWERED_OFF;
  /** vcpu_kill: the thread exited; it never runs again (spec §6.2 POWERED_OFF with the exited flag). */
  killed = false;
  /** Why the vCPU faulted (the guest program's error), while in FAULT. */
  faultReason: string | null = null;
  /**
   * Counts power-ons and stops. A guest program belongs to one value: once the vCPU powers off, is killed or
   * faults, the program's further calls are stale and it never runs again.
   */
  generation = 0;
  /** vcpu_bind_virq sources (spec §6.1): HALT raised on a fault; VCPU_RUN_WAKEUP makes the vCPU proxy-scheduled. */
  readonly haltVirq = new VirqSource();
  readonly wakeupVirq = new VirqSource();
  /** The EL1 virtual timer's PPI on this vCPU, bound on first use (core/guest). */
  readonly timerVirq = new VirqSource();

  /** Scheduler bookkeeping, owned by core/vm/scheduler.ts. */
  waitKind: WaitKind = WAIT.NONE;
  /** Resolves the guest program's pending wait; the scheduler calls it to resume the vCPU. */
  wake: (() => void) | null = null;
  /** Powered on and not yet started: the scheduler starts the guest program on the first resumption. */
  startPending = false;
  sliceLeftNs = 0;
  /** A new slice begins at the next resumption (counted in stats.slices). */
  sliceFresh = true;
  /** A scheduler_yield request (spec §6.1) the vCPU acts on when it next leaves the CPU. */
  yieldRequest: { hint: number; arg: number; target: Vcpu | null } | null = null;
  /** Where the vCPU waits in a run queue (pCPU index, -1 for none), and where it last ran. */
  queuedOn = -1;
  queuedPriority = 0;
  runPcpu = 0;
  runPriority = 0;
  /** A slice donated by vcpu_run or a directed yield: run on `grantPcpu` at `grantPriority`. */
  granted = false;
  grantPcpu = 0;
  grantPriority = 0;
  /** Virtual timer: host timer handle, absolute deadline (performance.now() ms), expiry seen. */
  timer: ReturnType<typeof setTimeout> | null = null;
  timerDeadline = 0;
  timerFired = false;

  /** Run time and scheduling counts (sysfs, metrics, tests). */
  readonly stats = { runNs: 0, resumptions: 0, slices: 0, wakeups: 0 };

  private smcccView: { regs: Uint32Array; view: Uint32Array } | null = null;

  /** The SMCCC inputs (X1..X7) of a register file as a view made once: the dispatcher reads them in place. */
  smcccArgs(regs: Uint32Array): Uint32Array {
    const v = this.smcccView;
    if (v !== null && v.regs === regs) return v.view;
    this.smcccView = { regs, view: regs.subarray(2) };
    return this.smcccView.view;
  }

  /** Proxy-scheduled (spec §6.1): runs only inside vcpu_run once a VCPU_RUN_WAKEUP vIRQ is bound. */
  get proxy(): boolean {
    return this.wakeupVirq.bound;
  }

  /** Powered on: in any state but POWERED_OFF (a faulted vCPU still counts, as the hypervisor's PSCI group does). */
  get poweredOn(): boolean {
    return this.schedState !== VCPU_STATE.POWERED_OFF;
  }

  /** Register X0-X30. */
  x(i: number): bigint {
    return i < WINDOW ? getReg(this.regs, i) : this.xHigh[i - WINDOW]!;
  }

  /** vcpu_configure (spec §6.1): known option bits only, INIT only. */
  configure(options: bigint): GhError {
    if ((options & ~KNOWN_OPTIONS) !== 0n) return GH_ERROR.ARGUMENT_INVALID;
    if (this.configurable() !== GH_ERROR.OK) return GH_ERROR.OBJECT_STATE;
    this.options = options;
    return GH_ERROR.OK;
  }

  /** vcpu_set_priority: above the maximum is DENIED (H-VCPU), INIT only. */
  setPriority(priority: number): GhError {
    if (!(priority >= SCHEDULER.PRIORITY_MIN && priority <= SCHEDULER.PRIORITY_MAX)) return GH_ERROR.DENIED;
    if (this.configurable() !== GH_ERROR.OK) return GH_ERROR.OBJECT_STATE;
    this.priority = priority;
    return GH_ERROR.OK;
  }

  /** vcpu_set_timeslice: 1-100 ms in ns, INIT only. */
  setTimeslice(ns: number): GhError {
    if (this.configurable() !== GH_ERROR.OK) return GH_ERROR.OBJECT_STATE;
    if (!(ns >= SCHEDULER.TIMESLICE_MIN_NS && ns <= SCHEDULER.TIMESLICE_MAX_NS)) return GH_ERROR.ARGUMENT_INVALID;
    this.timesliceNs = ns;
    return GH_ERROR.OK;
  }

  /**
   * vcpu_set_affinity with a checked index (the handler knows the pCPU count): INIT or ACTIVE (the FPRR scheduler
   * migrates), a pinned vCPU cannot move (DENIED).
   */
  setAffinity(cpu: number): GhError {
    if (this.state === OBJECT_STATE.INIT) {
      this.affinity = cpu;
      return GH_ERROR.OK;
    }
    if (this.state !== OBJECT_STATE.ACTIVE) return GH_ERROR.OBJECT_STATE;
    if (cpu === this.affinity) return GH_ERROR.OK;
    if ((this.options & PINNED) !== 0n) return GH_ERROR.DENIED;
    this.scheduler.migrate(this, cpu);
    return GH_ERROR.OK;
  }

  /**
   * vcpu_poweron (spec §6.1): BUSY unless powered off; PC = entry and X0 = context unless preserved (null). The
   * guest program registered at the PC starts on the vCPU's first resumption.
   */
  powerOn(entry: bigint | null, context: bigint | null): GhError {
    if (this.killed) return GH_ERROR.OBJECT_STATE;
    if (this.schedState !== VCPU_STATE.POWERED_OFF) return GH_ERROR.BUSY;
    if (entry !== null) this.pc = entry;
    if (context !== null) setReg(this.regs, 0, context);
    this.faultReason = null;
    this.scheduler.powerOn(this);
    this.emitState();
    return GH_ERROR.OK;
  }

  /**
   * vcpu_poweroff on the caller itself (the handler checks that). The VM's vCPUs form its PSCI group: the
   * last-vCPU flag must be set exactly when this is the only powered-on one (H-VCPU psci_handle_vcpu_poweroff).
   */
  powerOff(lastVcpu: boolean): GhError {
    if (this.schedState === VCPU_STATE.POWERED_OFF) return GH_ERROR.OBJECT_STATE;
    const online = this.vm!.vcpus.reduce((n, v) => n + (v.poweredOn ? 1 : 0), 0);
    if (lastVcpu !== (online === 1)) return GH_ERROR.DENIED;
    this.stop(VCPU_STATE.POWERED_OFF);
    return GH_ERROR.OK;
  }

  /** The guest program returned: the vCPU powers off, as PSCI CPU_OFF would (no last-vCPU rule). */
  exitProgram(): void {
    this.stop(VCPU_STATE.POWERED_OFF);
  }

  /** vcpu_kill: the thread exits for good; a proxy-scheduled caller is woken to see it (H-VCPU thread_killed). */
  kill(): GhError {
    if (this.killed) return GH_ERROR.OK;
    this.killed = true;
    this.stop(VCPU_STATE.POWERED_OFF);
    if (this.proxy) this.wakeupVirq.assert();
    return GH_ERROR.OK;
  }

  /**
   * The guest program threw (or had nothing at its entry point): FAULT, the HALT vIRQ and a `vcpu-fault` event
   * (the RM marks the VM crashed). The process is never affected.
   */
  fault(error: unknown): void {
    this.faultReason = error instanceof Error ? error.message : String(error);
    this.stop(VCPU_STATE.FAULT);
    this.haltVirq.assert();
    this.vm?.hyp.events.emit('vcpu-fault', { vcpu: this, error: this.faultReason });
  }

  /**
   * vcpu_register_write (spec §6.1, H-VCPU): only while powered off (BUSY), not after kill (OBJECT_STATE);
   * X0-X30, PC (4-byte aligned), SP_EL0/SP_EL1 (16-byte aligned).
   */
  writeRegister(set: number, index: number, value: bigint): GhError {
    if (this.killed) return GH_ERROR.OBJECT_STATE;
    if (this.schedState !== VCPU_STATE.POWERED_OFF) return GH_ERROR.BUSY;
    switch (set) {
      case VCPU_REG_SET.X:
        if (!(index >= 0 && index < X_REGISTERS)) return GH_ERROR.ARGUMENT_INVALID;
        if (index < WINDOW) setReg(this.regs, index, value);
        else this.xHigh[index - WINDOW] = value;
        return GH_ERROR.OK;
      case VCPU_REG_SET.PC:
        if (index !== 0 || (value & 3n) !== 0n) return GH_ERROR.ARGUMENT_INVALID;
        this.pc = value;
        return GH_ERROR.OK;
      case VCPU_REG_SET.SP_EL:
        if (!(index >= 0 && index < this.sp.length) || (value & 15n) !== 0n) return GH_ERROR.ARGUMENT_INVALID;
        this.sp[index] = value;
        return GH_ERROR.OK;
      default:
        return GH_ERROR.ARGUMENT_INVALID;
    }
  }

  /** vcpu_bind_virq (spec §6.1): shared (SPI/ESPI) numbers only. Binding VCPU_RUN_WAKEUP makes it proxy-scheduled. */
  bindVirq(type: number, vic: Vic, virqInfo: number, hiWord: number): GhError {
    const source = this.virqSource(type);
    if (source === null) return GH_ERROR.ARGUMENT_INVALID;
    const err = source.bindShared(vic, virqInfo, hiWord);
    if (err === GH_ERROR.OK && source === this.wakeupVirq) this.scheduler.proxyChanged(this);
    return err;
  }

  /** vcpu_unbind_virq: idempotent; unbinding VCPU_RUN_WAKEUP returns the vCPU to the normal scheduler. */
  unbindVirq(type: number): GhError {
    const source = this.virqSource(type);
    if (source === null) return GH_ERROR.ARGUMENT_INVALID;
    const wasProxy = this.proxy;
    source.unbind();
    if (wasProxy && !this.proxy) this.scheduler.proxyChanged(this);
    return GH_ERROR.OK;
  }

  private virqSource(type: number): VirqSource | null {
    if (type === VCPU_VIRQ_TYPE.HALT) return this.haltVirq;
    if (type === VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP) return this.wakeupVirq;
    return null;
  }

  private get scheduler() {
    return this.vm!.hyp.scheduler;
  }

  /** Leave the CPU for good (until a power-on): the scheduler drops the vCPU and its program. */
  private stop(state: VcpuState): void {
    if (this.vm !== null) this.scheduler.stopVcpu(this, state);
    else this.schedState = state;
    this.emitState();
  }

  private emitState(): void {
    this.vm?.hyp.events.emit('vcpu-state', { vcpu: this, state: this.schedState });
  }

  /** spec §1.4 / H-VCPU: a vCPU activates once attached to a VM; a pinned one needs a valid affinity. */
  protected override onActivate(): GhError {
    if (this.vm === null) return GH_ERROR.OBJECT_CONFIG;
    if ((this.options & PINNED) !== 0n && this.affinity < 0) return GH_ERROR.OBJECT_CONFIG;
    return GH_ERROR.OK;
  }

  protected override onReset(): void {
    this.shutdown();
  }

  protected override onDestroy(): void {
    this.shutdown();
  }

  private shutdown(): void {
    if (this.schedState !== VCPU_STATE.POWERED_OFF) this.stop(VCPU_STATE.POWERED_OFF);
    this.haltVirq.unbind();
    this.wakeupVirq.unbind();
    this.timerVirq.unbind();
  }
}
