// The guest execution API (issue 2): all a guest program sees of its vCPU. It reaches the system only as guest
// code would: hypercalls on its own registers, its own guest memory, its interrupts (WFI, acknowledge, EOI) and
// its virtual timer. Its awaits are the scheduling points (core/vm/scheduler.ts); between two awaits it runs
// alone and cannot be preempted.
import { HC, type HypercallName } from '../abi/hypercalls.js';
import { hypercallFunctionId } from '../abi/smccc.js';
import { YIELD_HINT } from '../abi/vcpu.js';
import { hvc, type CallResult, type Convention } from '../hyp/call.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import { getRegSigned, setReg, type RegisterFile } from '../hyp/regs.js';
import type { GuestMemory } from '../mem/guest-memory.js';
import type { Scheduler } from '../vm/scheduler.js';
import { WAIT, type Vcpu } from '../vm/vcpu.js';
import type { Vic } from '../vm/vic.js';

/**
 * A guest image's code for one vCPU, started at power-on (vcpu_poweron at the entry IPA it is registered for in
 * `Vm.programs`). Returning powers the vCPU off; throwing faults it (FAULT, `vcpu-fault` event).
 */
export type GuestProgram = (cpu: GuestCpu) => Promise<void>;

/** Guest memory as the guest sees it, through its stage-2: ERROR_ADDR_INVALID for unmapped or forbidden pages. */
export type GuestMemoryAccess = Pick<GuestMemory, 'read' | 'write' | 'readBytes' | 'writeBytes'>;

/** Thrown by the synchronous calls once the vCPU powered off, was killed or faulted: this run is over. */
export class VcpuStopped extends Error {
  constructor() {
    super('the vCPU is no longer running this program');
  }
}

const YIELD_FUNCTION_ID = hypercallFunctionId(HC.scheduler_yield);
/** A wait that never ends: what a stopped vCPU's program is left awaiting (it is then garbage). */
const never = (): Promise<never> => new Promise<never>(() => {});

export class GuestCpu {
  /** The vCPU's index in its VM (its vIC attachment index). */
  readonly index: number;
  readonly vmid: number;
  /** PC and X0 at power-on (vcpu_poweron entry_ipa and context, spec §6.1). */
  readonly entryIpa: bigint;
  readonly context: bigint;
  /** X0-X7: the hypercall window for `hypercall()`. */
  readonly regs: RegisterFile;
  readonly mem: GuestMemoryAccess;
  readonly #vcpu: Vcpu;
  readonly #generation: number;
  readonly #hyp: Hypervisor;
  readonly #scheduler: Scheduler;
  readonly #vic: Vic;

  constructor(vcpu: Vcpu) {
    const vm = vcpu.vm!;
    this.#vcpu = vcpu;
    this.#generation = vcpu.generation;
    this.#hyp = vm.hyp;
    this.#scheduler = vm.hyp.scheduler;
    this.#vic = vm.vic;
    this.index = vcpu.index;
    this.vmid = vm.vmid;
    this.entryIpa = vcpu.pc;
    this.context = vcpu.x(0);
    this.regs = vcpu.regs;
    this.mem = vm.memory;
  }

  /** False once the vCPU powered off, was killed or faulted. */
  get live(): boolean {
    return this.#vcpu.generation === this.#generation;
  }

  /** Register X0-X30 (what vcpu_register_write set before power-on, or the hypercall window). */
  x(i: number): bigint {
    this.#check();
    return this.#vcpu.x(i);
  }

  /** One hypercall by name (allocates; `hypercall` is the cheap path). */
  hvc(name: HypercallName, args: readonly (bigint | number)[] = [], conv: Convention = 'smccc'): CallResult {
    this.#check();
    return hvc(this.#vcpu, name, args, conv);
  }

  /** `hvc #imm` on `regs` as they are: 0 for SMCCC (function ID in X0), 0x6000 + n for native calls. */
  hypercall(imm = 0): void {
    this.#check();
    this.#hyp.hypercall(this.#vcpu, this.regs, imm);
  }

  /**
   * Wait for an interrupt (WFI): sleeps, costing nothing, until a vIRQ is pending for this vCPU, then acknowledges
   * it (GIC IAR) and returns its number. The caller ends it with `eoi`.
   */
  async wfi(): Promise<number> {
    if (!this.live) return never();
    for (;;) {
      const virq = this.#vic.acknowledge(this.index);
      if (virq >= 0) {
        await this.#scheduler.checkpoint(this.#vcpu);
        return virq;
      }
      await this.#scheduler.sleep(this.#vcpu, WAIT.WFI);
    }
  }

  /** Acknowledge the oldest pending interrupt without waiting; -1 when none (GIC IAR read). */
  acknowledge(): number {
    this.#check();
    return this.#vic.acknowledge(this.index);
  }

  /** End of interrupt: a level source whose condition still holds is pending again. */
  eoi(virq: number): void {
    this.#check();
    this.#vic.endOfInterrupt(virq, this.index);
  }

  /**
   * scheduler_yield (spec §6.1) through the real hypercall, then leave the CPU: the rest of the slice goes to
   * other ready vCPUs. `hint` YIELD_TO takes a vCPU capid, LOWER_PRIORITY a priority. Resolves to the call's error.
   */
  async yield(hint: number = YIELD_HINT.GENERIC, arg: bigint | number = 0): Promise<number> {
    if (!this.live) return never();
    const r = this.regs;
    r.fill(0);
    r[0] = YIELD_FUNCTION_ID;
    r[2] = hint;
    setReg(r, 2, arg);
    this.#hyp.hypercall(this.#vcpu, r, 0);
    const err = Number(getRegSigned(r, 0));
    await this.#scheduler.checkpoint(this.#vcpu);
    return err;
  }

  /** A preemption point for busy guests: resolves at once unless the vCPU must leave the CPU now. */
  checkpoint(): Promise<void> {
    return this.live ? this.#scheduler.checkpoint(this.#vcpu) : never();
  }

  /**
   * Arm the virtual timer `ns` from now (null disarms): on expiry its PPI (27) is pending on this vCPU, which ends
   * a WFI, and a `sleep` ends.
   */
  setTimer(ns: number | null): void {
    this.#check();
    if (ns !== null && !(ns >= 0 && Number.isFinite(ns))) throw new RangeError(`timer delay must be >= 0 ns, got ${ns}`);
    this.#scheduler.setTimer(this.#vcpu, ns);
  }

  /** Sleep `ns` on the virtual timer; other interrupts stay pending for the next `wfi`. */
  async sleep(ns: number): Promise<void> {
    this.setTimer(ns);
    const vcpu = this.#vcpu;
    while (!vcpu.timerFired) await this.#scheduler.sleep(vcpu, WAIT.TIMER);
    this.setTimer(null);
  }

  /** Power this vCPU off (PSCI CPU_OFF, handled in the hypervisor): never returns. */
  powerOff(): Promise<never> {
    if (this.live) this.#vcpu.exitProgram();
    return never();
  }

  #check(): void {
    if (!this.live) throw new VcpuStopped();
  }
}
