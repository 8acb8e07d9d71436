// Delivers a VM's shared interrupt lines (spec §8.1) to the code that claimed them, so that a message-queue port
// sleeps until its vIRQ fires instead of polling. A claimed line is configured edge-triggered, as the RM declares
// its link interrupts in the devicetree (spec §4.5, §12: edge rising), and is handled like a GIC handler would:
// acknowledge the line, run the handler, end of interrupt.
//
// Wake-ups run as microtasks, so an RPC round trip between two VMs costs no timer turn; a line raised while
// handlers run schedules the next wake-up instead of recursing, and after BURST_LIMIT microtask wake-ups in a row
// the next one waits for a macrotask (setImmediate), so two VMs ping-ponging forever never starve the event loop.
//
// The router chains itself in front of any `vic.onPending` hook set before it. A VM runtime that acknowledges
// interrupts itself (vic.acknowledge) hands the lines it does not own to `deliver(virq)`.
import type { Vic } from '../vm/vic.js';

const BURST_LIMIT = 1024;
let burst = 0;
let burstResetPending = false;

function resetBurst(): void {
  burst = 0;
  burstResetPending = false;
}

function wake(fn: () => void): void {
  if (burst < BURST_LIMIT) {
    burst++;
    queueMicrotask(fn);
    if (!burstResetPending) {
      burstResetPending = true;
      setImmediate(resetBurst);
    }
  } else {
    setImmediate(fn);
  }
}

export type VirqHandler = () => void;

interface Line {
  readonly virq: number;
  readonly handler: VirqHandler;
}

const routers = new WeakMap<Vic, VirqRouter>();

export class VirqRouter {
  /** Claimed lines by number, and as an array for the scan (the vIC does not say which line became pending). */
  private readonly byVirq = new Map<number, Line>();
  private lines: Line[] = [];
  private scheduled = false;
  /** Handlers that threw: the exception is kept here rather than thrown out of an interrupt. */
  handlerErrors = 0;
  lastHandlerError: unknown = null;

  private constructor(
    private readonly vic: Vic,
    /** The router owns every interrupt of its VM: it acknowledges lines in arrival order instead of scanning. */
    private readonly exclusive: boolean,
  ) {
    const previous = vic.onPending;
    vic.onPending = (vcpuIndex) => {
      previous?.(vcpuIndex);
      if (this.lines.length > 0) this.schedule();
    };
  }

  /** The router of a VM's vIC (made on first use). */
  static of(vic: Vic): VirqRouter {
    return routers.get(vic) ?? VirqRouter.make(vic, false);
  }

  /**
   * The router of a VM whose every interrupt is routed here, such as the RM's: a wake-up costs the same however
   * many lines are claimed, and a line nobody claimed is acknowledged and ignored (no end of interrupt, so it
   * stays quiet until its source asserts it again). Made before any `of` (else the existing router is returned).
   */
  static exclusive(vic: Vic): VirqRouter {
    return routers.get(vic) ?? VirqRouter.make(vic, true);
  }

  get isExclusive(): boolean {
    return this.exclusive;
  }

  private static make(vic: Vic, exclusive: boolean): VirqRouter {
    const router = new VirqRouter(vic, exclusive);
    routers.set(vic, router);
    return router;
  }

  /** Route a shared line to `handler`; returns the release function. A line already pending is handled soon. */
  claim(virq: number, handler: VirqHandler): () => void {
    const line: Line = { virq, handler };
    this.byVirq.set(virq, line);
    this.lines = [...this.byVirq.values()];
    this.vic.setEdgeTriggered(virq, true);
    if (this.vic.isPending(virq)) this.schedule();
    return () => {
      if (this.byVirq.get(virq) !== line) return;
      this.byVirq.delete(virq);
      this.lines = [...this.byVirq.values()];
    };
  }

  claims(virq: number): boolean {
    return this.byVirq.has(virq);
  }

  /** For a VM runtime that acknowledged `virq` itself: run its handler; false when no one claimed it. */
  deliver(virq: number): boolean {
    const line = this.byVirq.get(virq);
    if (line === undefined) return false;
    this.run(line.handler);
    this.vic.endOfInterrupt(virq);
    return true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    wake(this.drain);
  }

  /**
   * Acknowledge each pending line, run its handler, end of interrupt. A line raised meanwhile calls onPending,
   * which schedules the next wake-up (`scheduled` is clear by then): a loop of wake-ups, never a recursion.
   */
  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.exclusive) {
      for (let n = 0; n < BURST_LIMIT; n++) {
        const virq = this.vic.acknowledge(0);
        if (virq < 0) return;
        const line = this.byVirq.get(virq);
        if (line === undefined) continue; // left active without EOI: a level line must not come straight back
        this.run(line.handler);
        this.vic.endOfInterrupt(virq);
      }
      this.schedule();
      return;
    }
    const lines = this.lines; // claims and releases replace the array, so this pass sees a stable list
    for (let i = 0; i < lines.length; i++) {
      const { virq, handler } = lines[i]!;
      if (!this.vic.isPending(virq)) continue;
      const source = this.vic.sourceOf(virq);
      if (source !== undefined) this.vic.lower(source); // acknowledge this line
      this.run(handler);
      this.vic.endOfInterrupt(virq);
    }
  };

  private run(handler: VirqHandler): void {
    try {
      handler();
    } catch (err) {
      this.handlerErrors++;
      this.lastHandlerError = err;
    }
  }
}
