// A scripted RM link for the RM client's tests: a TX queue of the RM link's depth that the test drains by hand, so
// a test decides when the RM reads, what it answers (well-formed or not) and when it stalls.
import { GH_ERROR } from '../../core/abi/errors.js';
import { RM_ERROR, RM_RPC } from '../../core/abi/rm.js';
import { RmClient, type RmClientOptions, type RmLink } from '../../core/hlos/rm-client.js';
import { VirqWaiters } from '../../core/ipc/waiters.js';
import { encodeMessage, encodeReply, RpcReassembler } from '../../core/rm/rpc-codec.js';

export interface SentRequest {
  readonly msgId: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

export class FakeRmLink implements RmLink {
  /** Packets sent and not yet read by the RM, with their push flag. */
  readonly queue: { packet: Uint8Array; push: boolean }[] = [];
  /** Every send attempt, MSGQUEUE_FULL ones included (to show the client never spins). */
  sendAttempts = 0;
  /** Times the TX-ready interrupt fired. */
  txReadyEvents = 0;
  /** Requests the RM has read, in order. */
  readonly requests: SentRequest[] = [];
  /** Push flags of every packet accepted, in order. */
  readonly pushes: boolean[] = [];
  private readonly rx = new RpcReassembler();
  private readonly txWaiters = new VirqWaiters();
  client!: RmClient;

  constructor(readonly depth: number = RM_RPC.QUEUE_DEPTH) {}

  send(packet: Uint8Array, push: boolean): number {
    this.sendAttempts++;
    if (this.queue.length === this.depth) return GH_ERROR.MSGQUEUE_FULL;
    this.queue.push({ packet: packet.slice(), push });
    this.pushes.push(push);
    return GH_ERROR.OK;
  }

  waitTxReady(signal: AbortSignal): Promise<void> {
    return this.txWaiters.wait(signal);
  }

  /** The RM reads up to `n` packets; a full queue that drains to depth - 1 raises TX-ready (spec §4.3). */
  read(n = Infinity): SentRequest[] {
    const done: SentRequest[] = [];
    while (n-- > 0 && this.queue.length > 0) {
      const wasFull = this.queue.length === this.depth;
      const { packet } = this.queue.shift()!;
      if (wasFull) {
        this.txReadyEvents++;
        this.txWaiters.wakeAll();
      }
      const r = this.rx.push(packet);
      if (r.kind === 'message') {
        const req = { msgId: r.msgId, seq: r.seq, payload: r.payload };
        this.requests.push(req);
        done.push(req);
      }
    }
    return done;
  }

  /** Answer a request with an error word and data, packet by packet. */
  reply(req: { msgId: number; seq: number }, data: Uint8Array = new Uint8Array(0), rmError: number = RM_ERROR.OK): void {
    const packets = encodeReply(req.msgId, req.seq, rmError, data);
    if (!Array.isArray(packets)) throw new Error(packets.detail);
    for (const p of packets) this.client.deliver(p);
  }

  notify(msgId: number, payload: Uint8Array, seq = 0): void {
    const packets = encodeMessage('notification', msgId, seq, payload);
    if (!Array.isArray(packets)) throw new Error(packets.detail);
    for (const p of packets) this.client.deliver(p);
  }

  /** Read every request as it arrives and answer with `answer` (OK and no data by default). */
  autoAnswer(answer: (req: SentRequest) => { data?: Uint8Array; rmError?: number } = () => ({})): void {
    const original = this.send.bind(this);
    this.send = (packet, push) => {
      const err = original(packet, push);
      queueMicrotask(() => {
        for (const req of this.read()) {
          const a = answer(req);
          this.reply(req, a.data, a.rmError);
        }
      });
      return err;
    };
  }
}

export function fakeRm(opts: RmClientOptions & { depth?: number } = {}): { link: FakeRmLink; client: RmClient } {
  const link = new FakeRmLink(opts.depth);
  const client = new RmClient(link, opts);
  link.client = client;
  return { link, client };
}
