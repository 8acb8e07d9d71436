// Delivers a VM's shared interrupt lines (spec §8.1) to the code that claimed them, so that a message-queue port
// sleeps until its vIRQ fires instead of polling. A claimed line is configured edge-triggered, as the RM declares
// its link interrupts in the devicetree (spec §4.5, §12: edge rising), and is handled like a GIC handler would:
// acknowledge the line, run the handler, end of interrupt.
//
// Wake-ups run as microtasks, so an RPC round trip between two VMs costs no timer turn; a drain loops instead of
// recursing, and after BURST_LIMIT microtask wake-ups in a row the next one waits for a macrotask (setImmediate),
// so two VMs ping-ponging forever never starve the Node event loop.
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

const routers = new WeakMap<Vic, VirqRouter>();

export class VirqRouter {
  private readonly handlers = new Map<number, VirqHandler>();
  private scheduled = false;
  /** Handlers that threw: the exception is kept here rather than thrown out of an interrupt. */
  handlerErrors = 0;
  lastHandlerError: unknown = null;

  private constructor(private readonly vic: Vic) {
    const previous = vic.onPending;
    vic.onPending = (vcpuIndex) => {
      previous?.(vcpuIndex);
      if (this.handlers.size > 0) this.schedule();
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
    this.handlers.set(virq, handler);
    this.vic.setEdgeTriggered(virq, true);
    if (this.vic.isPending(virq)) this.schedule();
    return () => {
      if (this.handlers.get(virq) === handler) this.handlers.delete(virq);
    };
  }

  claims(virq: number): boolean {
    return this.handlers.has(virq);
  }

  /** For a VM runtime that acknowledged `virq` itself: run its handler; false when no one claimed it. */
  deliver(virq: number): boolean {
    const handler = this.handlers.get(virq);
    if (handler === undefined) return false;
    this.run(handler);
    this.vic.endOfInterrupt(virq);
    return true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    wake(this.drain);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    for (let round = 0; round < BURST_LIMIT; round++) {
      let handled = false;
      for (const [virq, handler] of this.handlers) {
        if (!this.vic.isPending(virq)) continue;
        const source = this.vic.sourceOf(virq);
        if (source !== undefined) this.vic.lower(source); // acknowledge this line
        handled = true;
        this.run(handler);
        this.vic.endOfInterrupt(virq);
      }
      if (!handled) return;
    }
    this.schedule();
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
