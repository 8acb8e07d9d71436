// An RM RPC client: one VM's driver for its link to the Resource Manager, like Linux's rsc_mgr.c (spec §9.1-§9.3).
// The HLOS driver and the guest images use the same class; only the link differs (how a packet is sent and how
// the VM waits for the TX-ready interrupt).
//
//   call(msgId, payload, opts) -> reply data | RmFailure      bounded by a deadline and an optional AbortSignal
//   deliver(packet)                                           the link hands every received packet here
//   onNotification(msgId, fn) -> unsubscribe                  raw notification payloads by ID
//   close()                                                   fails what is pending with `closed`
//
// Requests are fragmented by the codec, pushed on the last fragment only (spec §9.1), and serialised by a send lock
// so the packets of two requests never interleave. Replies are matched by seq AND msg_id (spec §9.2); a reply the
// client is not waiting for is counted and ignored.
import type { Span } from '@opentelemetry/api';
import { endRmRpcSpan, rmRpcQueueFull, startRmRpcSpan } from '../trace.js';
import { GH_ERROR } from '../abi/errors.js';
import { RM_ERROR, RM_MSG_TYPE } from '../abi/rm.js';
import { decodeReply, encodeMessage, RpcReassembler, type RpcAborted } from '../rm/rpc-codec.js';
import { RmFailure, type RmFailureReason } from './rm-failure.js';
import { RpcStats } from './rpc-stats.js';
import { SeqTable } from './seq-table.js';

/** One VM's end of its RM link, as the client needs it. */
export interface RmLink {
  /** msgqueue_send of one packet on the VM's TX queue: a GH error (OK, MSGQUEUE_FULL, ...). */
  send(packet: Uint8Array, push: boolean): number;
  /**
   * Resolves once the TX-ready vIRQ has fired (spec §4.3: a full queue drained to depth - 1), or when `signal`
   * aborts. The client calls it only after a send returned MSGQUEUE_FULL; it never spins.
   */
  waitTxReady(signal: AbortSignal): Promise<void>;
}

export interface CallOptions {
  /** Milliseconds before the call fails with `timeout`; default the client's `timeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RmClientOptions {
  /** Default deadline of every call, in milliseconds (default 2000). */
  timeoutMs?: number;
}

export const DEFAULT_RM_TIMEOUT_MS = 2000;
const SEQ_SPACE = 0x10000;

interface Pending {
  readonly msgId: number;
  readonly seq: number;
  readonly started: number;
  readonly deadline: number;
  readonly settle: (result: Uint8Array | RmFailure) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  /** The call's trace span: a child of the caller's (the REST request's) span; free without an SDK. */
  readonly span: Span;
}

type TransportReason = Exclude<RmFailureReason, 'rm_error'>;

export type NotificationHandler = (payload: Uint8Array) => void;

export class RmClient {
  readonly stats = new RpcStats();
  readonly timeoutMs: number;
  private readonly rx = new RpcReassembler();
  /** Calls waiting for a reply, by seq. */
  private readonly pending = new SeqTable<Pending>();
  private readonly subscribers = new Map<number, Set<NotificationHandler>>();
  private nextSeq = 0;
  private closed = false;
  // The send lock: held while a request's packets go out; the requests behind it wait in arrival order.
  private sending = false;
  private readonly sendQueue: { entry: Pending; packets: Uint8Array[] }[] = [];
  /**
   * The lock holder waiting for TX space, and the signal that ends its wait. One controller serves every wait and
   * is replaced only when a call ends while waiting (aborting costs a DOMException; most waits end normally).
   */
  private txWaiter: Pending | null = null;
  private txWaitAbort: AbortController | null = null;
  // One timer for the earliest deadline, so a call costs no timer of its own (the hot path is microseconds). It
  // stays armed when the last call ends, unreferenced (it holds no process open), and finds nothing due when it
  // fires; so back-to-back calls re-arm nothing, and a timer is made once per deadline period, not per call.
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDeadline = Infinity;

  constructor(
    private readonly link: RmLink,
    opts: RmClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_RM_TIMEOUT_MS;
  }

  /** Calls waiting for a reply (tests assert that nothing is left behind). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The reassembler's counters: messages delivered and drops by reason. */
  get rxStats() {
    return this.rx.stats;
  }

  /**
   * Send a request and wait for its reply (spec §9.2-§9.3). Resolves with the data after the OK error word, or
   * with an RmFailure: the RM's error word, or `timeout`, `aborted`, `transport`, `bad_reply`, `refused`, `closed`.
   */
  call(msgId: number, payload: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array | RmFailure> {
    if (this.closed) return Promise.resolve(this.fail(msgId, 'closed', 'the RM client is closed'));
    const signal = opts.signal;
    if (signal?.aborted) return Promise.resolve(this.fail(msgId, 'aborted', 'aborted before sending'));
    const seq = this.allocSeq();
    if (seq < 0) return Promise.resolve(this.fail(msgId, 'refused', 'all 65536 sequence numbers are in use'));
    const packets = encodeMessage('request', msgId, seq, payload);
    if (!Array.isArray(packets)) return Promise.resolve(this.fail(msgId, 'refused', packets.detail));

    return new Promise((resolve) => {
      const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
      const started = performance.now();
      const onAbort = signal ? () => this.finish(seq, this.fail(msgId, 'aborted', 'cancelled by the caller')) : undefined;
      const entry: Pending = {
        msgId, seq, started, deadline: started + timeoutMs, settle: resolve,
        signal, onAbort, span: startRmRpcSpan(msgId, seq),
      };
      this.pending.add(entry);
      if (signal) signal.addEventListener('abort', onAbort!, { once: true });
      this.armTimer(entry.deadline);
      this.startSend(entry, packets);
    });
  }

  /** A request refused before sending (it does not encode): counted like any other failed call. */
  refuse(msgId: number, detail: string): RmFailure {
    return this.fail(msgId, 'refused', detail);
  }

  /** Subscribe to one notification ID (spec §9.4); returns the unsubscribe function. */
  onNotification(msgId: number, handler: NotificationHandler): () => void {
    let set = this.subscribers.get(msgId);
    if (!set) this.subscribers.set(msgId, (set = new Set()));
    set.add(handler);
    return () => {
      set!.delete(handler);
      if (set!.size === 0 && this.subscribers.get(msgId) === set) this.subscribers.delete(msgId);
    };
  }

  /** One packet received from the RM (the link calls this from its RX interrupt handling). */
  deliver(packet: Uint8Array): void {
    const r = this.rx.push(packet);
    if (r.aborted) this.abortedReply(r.aborted);
    if (r.kind === 'dropped') {
      this.stats.droppedPackets++;
      return;
    }
    if (r.kind !== 'message') return;
    if (r.type === RM_MSG_TYPE.NOTIFICATION) {
      this.stats.notified(r.msgId);
      const set = this.subscribers.get(r.msgId);
      if (set) for (const fn of [...set]) fn(r.payload);
      return;
    }
    const entry = r.type === RM_MSG_TYPE.REPLY ? this.pending.get(r.seq) : undefined;
    if (entry === undefined || entry.msgId !== r.msgId) {
      this.stats.unmatchedReplies++; // spec §9.2: unmatched replies (and requests, never sent to a client) ignored
      return;
    }
    const reply = decodeReply(r.payload);
    if (reply === RM_ERROR.MSG_INVALID) {
      this.finish(entry.seq, this.fail(entry.msgId, 'bad_reply', `a ${r.payload.length}-byte reply has no error word`));
      return;
    }
    this.stats.replied(entry.msgId, reply.rmError, (performance.now() - entry.started) / 1000);
    this.finish(entry.seq, reply.rmError === RM_ERROR.OK ? reply.data : RmFailure.rm(entry.msgId, reply.rmError));
  }

  /** Fail every pending call with `closed` and refuse new ones. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.pending.values()) {
      this.finish(entry.seq, this.fail(entry.msgId, 'closed', 'the RM client was closed'));
    }
    this.disarmTimer();
    this.subscribers.clear();
  }

  private allocSeq(): number {
    if (this.pending.size >= SEQ_SPACE) return -1;
    while (this.pending.has(this.nextSeq)) this.nextSeq = (this.nextSeq + 1) % SEQ_SPACE;
    const seq = this.nextSeq;
    this.nextSeq = (seq + 1) % SEQ_SPACE;
    return seq;
  }

  /** Send a request's packets now if the send lock is free, else after the requests queued before it. */
  private startSend(entry: Pending, packets: Uint8Array[]): void {
    if (this.sending) {
      this.sendQueue.push({ entry, packets });
      return;
    }
    this.sending = true;
    if (this.pump(entry, packets, 0)) this.nextSend();
  }

  /** Hand the send lock to the next queued request that is still waiting for its reply. */
  private nextSend(): void {
    for (let next = this.sendQueue.shift(); next !== undefined; next = this.sendQueue.shift()) {
      if (this.pending.has(next.entry.seq) && !this.pump(next.entry, next.packets, 0)) return;
    }
    this.sending = false;
  }

  /**
   * Send packets from index `i`, push on the last one (spec §9.1). Returns true when the request is done with the
   * lock, false when it waits for the TX-ready vIRQ (spec §4.3) and keeps the lock until then.
   */
  private pump(entry: Pending, packets: Uint8Array[], i: number): boolean {
    for (; i < packets.length; i++) {
      if (!this.pending.has(entry.seq)) return true; // timed out, aborted or closed meanwhile
      const err = this.link.send(packets[i]!, i === packets.length - 1);
      if (err === GH_ERROR.OK) continue;
      if (err !== GH_ERROR.MSGQUEUE_FULL) {
        this.finish(entry.seq, this.counted(RmFailure.transport(entry.msgId, err, 'msgqueue_send')));
        return true;
      }
      const at = i;
      rmRpcQueueFull(entry.span, i);
      this.txWaiter = entry;
      this.txWaitAbort ??= new AbortController();
      void this.link.waitTxReady(this.txWaitAbort.signal).then(() => {
        this.txWaiter = null;
        if (this.pump(entry, packets, at)) this.nextSend();
      });
      return false;
    }
    return true;
  }

  /** spec §9.2: a partial reply superseded or broken completes its call with an error (Linux: -EIO). */
  private abortedReply(aborted: RpcAborted): void {
    if (aborted.type !== RM_MSG_TYPE.REPLY) return;
    const entry = this.pending.get(aborted.seq);
    if (entry === undefined || entry.msgId !== aborted.msgId) return;
    this.finish(entry.seq, this.fail(entry.msgId, 'bad_reply', 'the reply was cut short by another message'));
  }

  /** A transport-side failure, counted (RM error replies are counted where they arrive). */
  private fail(msgId: number, reason: TransportReason, detail: string): RmFailure {
    return this.counted(new RmFailure(reason, msgId, detail));
  }

  private counted(failure: RmFailure): RmFailure {
    this.stats.failed(failure.msgId, failure.reason as TransportReason);
    return failure;
  }

  private finish(seq: number, result: Uint8Array | RmFailure): void {
    const entry = this.pending.get(seq);
    if (entry === undefined) return;
    this.pending.delete(seq);
    if (this.txWaiter === entry) {
      this.txWaitAbort!.abort();
      this.txWaitAbort = null;
    }
    if (entry.signal) entry.signal.removeEventListener('abort', entry.onAbort!);
    if (this.pending.size === 0) this.timer?.unref();
    endRmRpcSpan(entry.span, result instanceof RmFailure ? (result.rmError ?? result.reason) : RM_ERROR.OK);
    entry.settle(result);
  }

  /** Make sure the timer fires by `deadline`: the armed one if it is due no later (it re-arms itself), else a new one. */
  private armTimer(deadline: number): void {
    if (this.timer !== null && deadline >= this.timerDeadline) {
      this.timer.ref();
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now()));
  }

  private disarmTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
  }

  /** The deadline timer fired: fail the overdue calls and arm for the next deadline. */
  private expire(): void {
    this.timer = null;
    this.timerDeadline = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const entry of this.pending.values()) {
      if (entry.deadline <= now) {
        this.finish(entry.seq, this.fail(entry.msgId, 'timeout', `no reply within ${Math.round(entry.deadline - entry.started)} ms`));
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Infinity && this.pending.size > 0) this.armTimer(next);
  }
}
