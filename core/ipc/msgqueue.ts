// spec §4: a message queue is one unidirectional FIFO with a send end and a receive end. The logic here never
// touches registers; msgqueue-calls.ts holds the thin hypercall handlers.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import {
  MSGQ_SEND_FLAG, MSGQ_THRESHOLD, MSGQUEUE_MAX_MAX_MSG_SIZE, MSGQUEUE_MAX_QUEUE_DEPTH,
} from '../abi/ipc.js';
import { RangeView } from '../mem/copy.js';
import type { GuestMemory } from '../mem/guest-memory.js';
import { HypObject } from '../hyp/object.js';
import { VirqSource } from '../vm/vic.js';

export type MsgqueueTransition = 'full' | 'drain';

export class Msgqueue extends HypObject {
  readonly type = 'msgqueue' as const;
  depth = 0;
  maxMsgSize = 0;
  count = 0;
  private head = 0;
  private tail = 0;
  notfullThd = 0;
  notemptyThd = 0;
  private storage = Buffer.alloc(0);
  /** Each slot's view of its message, kept for the next message of the same size (core/mem/copy.ts). */
  private slotViews: RangeView[] = [];
  private sizes = new Uint16Array(0);

  /** TX ("not full", send end): pending while count <= notfull_thd (spec §4.3). */
  readonly sendVirq = new VirqSource(() => this.count <= this.notfullThd);
  /** RX ("not empty", receive end): pending while count >= notempty_thd. */
  readonly receiveVirq = new VirqSource(() => this.count >= this.notemptyThd);

  // Statistics (read by sysfs, REST and /metrics).
  sent = 0;
  received = 0;
  bytesSent = 0;
  bytesReceived = 0;
  /** Times the queue became full. */
  fullEvents = 0;
  /** Sends refused with MSGQUEUE_FULL. */
  fullRejects = 0;
  flushes = 0;

  /** Called on the rare full/drain transitions (events for the control plane). */
  onTransition: ((q: Msgqueue, what: MsgqueueTransition) => void) | null = null;

  /** msgqueue_configure (spec §4.2): 0 < depth < 256, 0 < max_msg_size < 1024, INIT only. */
  configure(depth: number, maxMsgSize: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (!(depth > 0 && depth < MSGQUEUE_MAX_QUEUE_DEPTH)) return GH_ERROR.ARGUMENT_INVALID;
    if (!(maxMsgSize > 0 && maxMsgSize < MSGQUEUE_MAX_MAX_MSG_SIZE)) return GH_ERROR.ARGUMENT_INVALID;
    this.depth = depth;
    this.maxMsgSize = maxMsgSize;
    return GH_ERROR.OK;
  }

  protected override onActivate(): GhError {
    if (this.depth === 0) return GH_ERROR.OBJECT_CONFIG;
    this.storage = Buffer.alloc(this.depth * this.maxMsgSize);
    this.slotViews = Array.from({ length: this.depth }, () => new RangeView(this.storage));
    this.sizes = new Uint16Array(this.depth);
    this.count = this.head = this.tail = 0;
    this.notfullThd = this.depth - 1;
    this.notemptyThd = 1;
    return GH_ERROR.OK;
  }

  protected override onReset(): void {
    this.sendVirq.unbind();
    this.receiveVirq.unbind();
    this.depth = this.maxMsgSize = this.count = this.head = this.tail = 0;
    this.storage = Buffer.alloc(0);
    this.slotViews = [];
  }

  protected override onDestroy(): void {
    this.onReset();
  }

  get notFull(): boolean {
    return this.count !== this.depth;
  }

  get notEmpty(): boolean {
    return this.count !== 0;
  }

  /** msgqueue_send (spec §4.3). On success `notFull` tells the caller whether there is room left. */
  send(src: GuestMemory, ipa: number, size: number, flags: number): GhError {
    if ((flags & ~MSGQ_SEND_FLAG.PUSH) !== 0) return GH_ERROR.ARGUMENT_INVALID;
    if (this.count === this.depth) {
      this.fullRejects++;
      return GH_ERROR.MSGQUEUE_FULL;
    }
    // spec §4.4: the documented errors, not the public source's silent OK.
    if (!(size > 0 && size <= this.maxMsgSize)) return GH_ERROR.ARGUMENT_SIZE;
    const err = src.read(ipa, this.storage, this.tail * this.maxMsgSize, size);
    if (err !== GH_ERROR.OK) return err;
    this.enqueued(size);
    if ((flags & MSGQ_SEND_FLAG.PUSH) !== 0 || this.count === this.notemptyThd) this.receiveVirq.assert();
    return GH_ERROR.OK;
  }

  /** Enqueue bytes that are already in place at the tail slot. */
  private enqueued(size: number): void {
    this.sizes[this.tail] = size;
    this.tail = this.tail + 1 === this.depth ? 0 : this.tail + 1;
    this.count++;
    this.sent++;
    this.bytesSent += size;
    if (this.count === this.depth) {
      this.fullEvents++;
      this.onTransition?.(this, 'full');
    }
  }

  /** msgqueue_receive (spec §4.3): on success `lastSize` is the message size and `notEmpty` says if more wait. */
  receive(dst: GuestMemory, ipa: number, bufSize: number): GhError {
    if (this.count === 0) return GH_ERROR.MSGQUEUE_EMPTY;
    const size = this.sizes[this.head]!;
    if (size > bufSize) return GH_ERROR.ADDR_OVERFLOW;
    const err = dst.write(ipa, this.slotViews[this.head]!.of(this.head * this.maxMsgSize, size), 0, size);
    if (err !== GH_ERROR.OK) return err;
    this.lastSize = size;
    this.head = this.head + 1 === this.depth ? 0 : this.head + 1;
    const wasFull = this.count === this.depth;
    this.count--;
    this.received++;
    this.bytesReceived += size;
    if (this.count === this.notfullThd) this.sendVirq.assert();
    if (wasFull) this.onTransition?.(this, 'drain');
    return GH_ERROR.OK;
  }

  /** Size of the message the last successful receive returned. */
  lastSize = 0;

  /** msgqueue_flush (spec §4.3): the source asserts the send vIRQ (the doc says deassert; we follow the source). */
  flush(): void {
    if (this.count > 0) {
      const wasFull = this.count === this.depth;
      this.sendVirq.assert();
      this.receiveVirq.clear();
      if (wasFull) this.onTransition?.(this, 'drain');
    }
    this.storage.fill(0);
    this.count = this.head = this.tail = 0;
    this.flushes++;
  }

  /** msgqueue_configure_send: thd < depth (-1 unchanged); delay must be -1. Re-evaluates the TX line. */
  configureSend(thd: number, delayIsNone: boolean): GhError {
    if (!delayIsNone) return GH_ERROR.UNIMPLEMENTED;
    if (thd !== MSGQ_THRESHOLD.UNCHANGED) {
      if (!(thd >= 0 && thd < this.depth)) return GH_ERROR.ARGUMENT_INVALID;
      this.notfullThd = thd;
    }
    if (this.count <= this.notfullThd) this.sendVirq.assert();
    else this.sendVirq.clear();
    return GH_ERROR.OK;
  }

  /** msgqueue_configure_receive: thd in [1, depth], -1 unchanged, -2 = depth (without re-evaluating the line). */
  configureReceive(thd: number, delayIsNone: boolean): GhError {
    if (!delayIsNone) return GH_ERROR.UNIMPLEMENTED;
    if (thd === MSGQ_THRESHOLD.DEPTH) {
      this.notemptyThd = this.depth;
      return GH_ERROR.OK;
    }
    if (thd !== MSGQ_THRESHOLD.UNCHANGED) {
      if (!(thd >= 1 && thd <= this.depth)) return GH_ERROR.ARGUMENT_INVALID;
      this.notemptyThd = thd;
    }
    if (this.count >= this.notemptyThd) this.receiveVirq.assert();
    else this.receiveVirq.clear();
    return GH_ERROR.OK;
  }

  /** Queued messages, oldest first, as copies (snapshots and tests; never on the hot path). */
  peekAll(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0, at = this.head; i < this.count; i++, at = at + 1 === this.depth ? 0 : at + 1) {
      const off = at * this.maxMsgSize;
      out.push(Uint8Array.prototype.slice.call(this.storage, off, off + this.sizes[at]!));
    }
    return out;
  }
}
