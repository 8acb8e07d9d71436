// A guest image's interrupt loop, the way a small kernel is built: the vCPU sits in WFI, and each interrupt it takes
// runs the handler registered for that vIRQ (RM link, doorbell, message queue, virtual timer), then is ended (EOI).
// The image's main flow is an async function that awaits what those handlers resolve (an RM reply, a timer, a
// doorbell), so whenever it waits, the vCPU waits in WFI: it never spins and costs nothing while idle.
import { ARCH_TIMER_VIRQ } from '../abi/virq.js';
import type { GuestCpu } from '../guest/guest-cpu.js';

export type InterruptHandler = () => void;

export class GuestRuntime {
  private readonly handlers = new Map<number, InterruptHandler>();
  /** Lines taken while nobody handled them: left active (not ended), which masks them, as on a GIC. */
  private readonly parked = new Set<number>();
  private sleeper: (() => void) | null = null;
  /** Interrupts taken (the loop's own statistics). */
  interrupts = 0;

  constructor(readonly cpu: GuestCpu) {
    this.handlers.set(ARCH_TIMER_VIRQ.EL1_VIRTUAL, () => {
      const wake = this.sleeper;
      this.sleeper = null;
      wake?.();
    });
  }

  /** Route a vIRQ to `handler` (replacing any earlier one); a line parked unhandled is ended, so it fires again. */
  on(virq: number, handler: InterruptHandler): void {
    this.handlers.set(virq, handler);
    if (this.parked.delete(virq)) this.cpu.eoi(virq);
  }

  /** Sleep on the virtual timer (one sleep at a time: the main flow is sequential). */
  sleep(ns: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleeper = resolve;
      this.cpu.setTimer(ns);
    });
  }

  /**
   * Run `main` with interrupts serviced until it ends; its error, or a handler's, ends the run (the vCPU faults).
   * Images that serve forever never return.
   */
  async run(main: () => Promise<void>): Promise<void> {
    let outcome: { failed: boolean; error?: unknown } | null = null;
    main().then(
      () => {
        outcome = { failed: false };
        this.wakeLoop();
      },
      (error: unknown) => {
        outcome = { failed: true, error };
        this.wakeLoop();
      },
    );
    while (outcome === null) {
      const virq = await this.cpu.wfi();
      this.interrupts++;
      const handler = this.handlers.get(virq);
      if (handler === undefined) {
        this.parked.add(virq);
        continue;
      }
      handler();
      this.cpu.eoi(virq);
    }
    const ended = outcome as { failed: boolean; error?: unknown };
    if (ended.failed) throw ended.error;
  }

  /** The main flow ended while the loop sleeps in WFI: the virtual timer wakes it to return. */
  private wakeLoop(): void {
    if (this.cpu.live) this.cpu.setTimer(0);
  }
}
