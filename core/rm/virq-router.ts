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
  /** Claimed lines, in an array: a drain scans them (the vIC does not say which line became pending). */
  private lines: Line[] = [];
  private scheduled = false;
  /** Handlers that threw: the exception is kept here rather than thrown out of an interrupt. */
  handlerErrors = 0;
  lastHandlerError: unknown = null;

  private constructor(private readonly vic: Vic) {
    const previous = vic.onPending;
    vic.onPending = (vcpuIndex) => {
      previous?.(vcpuIndex);
      if (this.lines.length > 0) this.schedule();
    };
  }

  /** The router of a VM's vIC (made on first use). */
  static of(vic: Vic): VirqRouter {
    let router = routers.get(vic);
    if (router === undefined) routers.set(vic, (router = new VirqRouter(vic)));
    return router;
  }

  /** Route a shared line to `handler`; returns the release function. A line already pending is handled soon. */
  claim(virq: number, handler: VirqHandler): () => void {
    const line: Line = { virq, handler };
    this.lines = [...this.lines.filter((l) => l.virq !== virq), line];
    this.vic.setEdgeTriggered(virq, true);
    if (this.vic.isPending(virq)) this.schedule();
    return () => {
      this.lines = this.lines.filter((l) => l !== line);
    };
  }

  claims(virq: number): boolean {
    return this.lines.some((l) => l.virq === virq);
  }

  /** For a VM runtime that acknowledged `virq` itself: run its handler; false when no one claimed it. */
  deliver(virq: number): boolean {
    const line = this.lines.find((l) => l.virq === virq);
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
   * One pass over the claimed lines: acknowledge each pending one, run its handler, end of interrupt. A line
   * raised meanwhile calls onPending, which schedules the next pass (`scheduled` is clear by then): a loop of
   * wake-ups, never a recursion.
   */
  private readonly drain = (): void => {
    this.scheduled = false;
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
