// The RM's side of one client's RPC link (spec §9.1-§9.3, R-RPC, R-FIFO): packets in through a reassembler, with
// the validation and drop rules; messages out one at a time, continuing on the TX-ready vIRQ when the client's
// queue is full. While a message is in flight the RM keeps one pending reply (a newer reply replaces it: clients
// must wait for a reply before the next request) and up to 256 notifications (the oldest is dropped beyond).
import { GH_ERROR } from '../abi/errors.js';
import { RM_MSG_TYPE, RM_RPC } from '../abi/rm.js';
import type { MsgqPort } from './port.js';
import type { RmStats } from './rm-stats.js';
import { RpcReassembler, type RpcPushResult } from './rpc-codec.js';

/** A message being sent: its packets and how many have reached the queue. */
interface Outgoing {
  readonly msgId: number;
  readonly notification: boolean;
  readonly packets: readonly Uint8Array[];
  next: number;
}

/** What the endpoint hands its server: a complete REQUEST. */
export type RequestHandler = (endpoint: RpcEndpoint, msgId: number, seq: number, payload: Uint8Array) => void;

export class RpcEndpoint {
  private readonly rx = new RpcReassembler();
  private inFlight: Outgoing | null = null;
  private pendingReply: Outgoing | null = null;
  private readonly notifications: Outgoing[] = [];
  private closed = false;
  /** Times this client's queue was full and the RM waited for its TX-ready vIRQ. */
  txWaits = 0;
  /**
   * Test only (fault tests of client deadlines): the RM handles each complete request this many milliseconds after
   * it arrived, in arrival order, as an overloaded RM would. 0, the default and the only value outside tests, means
   * at once.
   */
  testDelayMs = 0;

  constructor(
    /** The client's VMID. */
    readonly vmid: number,
    /** The RM's end of the link: RX = the client's requests, TX = replies and notifications to it. */
    readonly port: MsgqPort,
    private readonly stats: RmStats,
    private readonly onRequest: RequestHandler,
  ) {
    port.onPacket = this.receivePacket;
    port.onTxReady = this.pump;
    port.drain(); // requests that arrived before the RM listened
  }

  /** Notifications waiting for room in the client's queue (at most RM_RPC.MAX_PENDING_NOTIFICATIONS). */
  get pendingNotifications(): number {
    return this.notifications.length;
  }

  get hasPendingReply(): boolean {
    return this.pendingReply !== null;
  }

  /** The message ID of the message being sent, or null when the link is idle. */
  get inFlightMsgId(): number | null {
    return this.inFlight?.msgId ?? null;
  }

  /** The reassembler's own figures (complete messages and drops by reason). */
  get rxStats() {
    return this.rx.stats;
  }

  /** Queue the packets of a REPLY (from rpc-codec encodeReply). */
  reply(msgId: number, packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    const out: Outgoing = { msgId, notification: false, packets, next: 0 };
    if (this.inFlight === null) {
      this.inFlight = out;
      this.pump();
      return;
    }
    if (this.pendingReply !== null) this.stats.dropped('reply_superseded');
    this.pendingReply = out;
  }

  /** Queue the packets of a NOTIFICATION (from rpc-codec encodeMessage). */
  notify(msgId: number, packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    const out: Outgoing = { msgId, notification: true, packets, next: 0 };
    if (this.inFlight === null) {
      this.inFlight = out;
      this.pump();
      return;
    }
    if (this.notifications.length === RM_RPC.MAX_PENDING_NOTIFICATIONS) {
      const oldest = this.notifications.shift()!;
      this.stats.dropped('notification_overflow');
      this.stats.notificationDropped(oldest.msgId);
    }
    this.notifications.push(out);
  }

  /** The link is being torn down: nothing more is sent or received. */
  close(): void {
    this.closed = true;
    this.port.close();
    for (const n of this.notifications) this.stats.notificationDropped(n.msgId);
    this.notifications.length = 0;
    this.pendingReply = null;
    this.inFlight = null;
  }

  private readonly receivePacket = (packet: Uint8Array): void => {
    const r: RpcPushResult = this.rx.push(packet);
    if (r.kind === 'dropped') this.stats.dropped(r.reason);
    else if (r.aborted !== null) this.stats.dropped('superseded');
    if (r.kind !== 'message') return;
    // spec §9.2: only REQUEST is accepted; anything else is silently dropped.
    if (r.type !== RM_MSG_TYPE.REQUEST) {
      this.stats.dropped('not_request');
      return;
    }
    if (this.testDelayMs > 0) {
      const { msgId, seq, payload } = r;
      setTimeout(() => {
        if (!this.closed) this.onRequest(this, msgId, seq, payload);
      }, this.testDelayMs);
      return;
    }
    this.onRequest(this, r.msgId, r.seq, r.payload);
  };

  /** Send what is in flight, then the pending reply, then queued notifications, until the queue is full. */
  private readonly pump = (): void => {
    while (!this.closed) {
      let out = this.inFlight;
      if (out === null) {
        out = this.pendingReply ?? this.notifications.shift() ?? null;
        if (out === null) return;
        if (out === this.pendingReply) this.pendingReply = null;
        this.inFlight = out;
      }
      while (out.next < out.packets.length) {
        const err = this.port.send(out.packets[out.next]!, false); // spec §9.1: the RM sends with push = 0
        if (err === GH_ERROR.OK) {
          out.next++;
        } else if (err === GH_ERROR.MSGQUEUE_FULL) {
          this.txWaits++;
          return; // the TX-ready vIRQ calls pump again
        } else {
          this.stats.dropped('tx_error');
          if (out.notification) this.stats.notificationDropped(out.msgId);
          break;
        }
      }
      if (out.next === out.packets.length && out.notification) this.stats.notificationSent(out.msgId);
      this.inFlight = null;
    }
  };
}
