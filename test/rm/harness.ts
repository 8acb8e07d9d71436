// Test harness for the RM: a booted system and raw RPC clients that build packets with the codec, send them with
// a VM's own port and read what comes back, so tests see exactly the bytes the RM puts on the wire.
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { RM_MSG_TYPE, rmErrorName } from '../../core/abi/rm.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { bootSystem } from '../../core/rm/boot.js';
import { isRmError, type Codec } from '../../core/rm/messages.js';
import { MsgqPort } from '../../core/rm/port.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';
import { decodeReply, encodeMessage, RpcReassembler } from '../../core/rm/rpc-codec.js';

export const SEED = 0x6d;

/** Let microtasks and one macrotask turn run: every vIRQ wake-up in between is delivered. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface Received {
  readonly type: number;
  readonly msgId: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

export interface Reply {
  readonly seq: number;
  readonly rmError: number;
  readonly data: Uint8Array;
}

/** One VM's raw RPC client: every packet and message it receives is kept in order. */
export class RawClient {
  readonly packets: Uint8Array[] = [];
  readonly messages: Received[] = [];
  private readonly rx = new RpcReassembler();
  private nextSeq = 1;

  constructor(readonly port: MsgqPort) {
    port.onPacket = (p) => {
      this.packets.push(p);
      const r = this.rx.push(p);
      if (r.kind === 'message') this.messages.push({ type: r.type, msgId: r.msgId, seq: r.seq, payload: r.payload });
    };
  }

  get vmid(): number {
    return this.port.vm.vmid;
  }

  /** Send a REQUEST's packets (push on the last, as Linux does); returns the seq used. */
  send(msgId: number, payload: Uint8Array = new Uint8Array(0), seq = this.nextSeq++ & 0xffff): number {
    const packets = encodeMessage('request', msgId, seq, payload);
    assert.ok(Array.isArray(packets), 'request encodes');
    packets.forEach((p, i) => assert.equal(this.port.send(p, i === packets.length - 1), GH_ERROR.OK, 'request packet sent'));
    return seq;
  }

  /** Send one raw packet (anything, for drop-rule tests). */
  sendPacket(packet: Uint8Array, push = true): number {
    return this.port.send(packet, push);
  }

  /** Send a request and wait for the REPLY with its seq. */
  async call(msgId: number, payload: Uint8Array = new Uint8Array(0)): Promise<Reply> {
    const seq = this.send(msgId, payload);
    return this.replyTo(msgId, seq);
  }

  async replyTo(msgId: number, seq: number): Promise<Reply> {
    for (let i = 0; i < 50; i++) {
      const m = this.messages.find((r) => r.type === RM_MSG_TYPE.REPLY && r.seq === seq && r.msgId === msgId);
      if (m !== undefined) {
        this.messages.splice(this.messages.indexOf(m), 1);
        const r = decodeReply(m.payload);
        assert.ok(typeof r !== 'number', 'reply has an error word');
        return { seq, rmError: r.rmError, data: r.data };
      }
      await settle();
    }
    assert.fail(`no reply to 0x${msgId.toString(16)} seq ${seq}`);
  }

  /** A call whose reply must be OK; returns the reply data decoded with `codec`. */
  async ok<T>(msgId: number, payload: Uint8Array, codec: Codec<T>): Promise<T> {
    const r = await this.call(msgId, payload);
    assert.equal(rmErrorName(r.rmError), 'RM_OK');
    const v = codec.decode(r.data);
    assert.ok(!isRmError(v), 'reply data decodes');
    return v as T;
  }

  /** Notifications received so far (removed from the list), optionally of one ID. */
  takeNotifications(msgId?: number): Received[] {
    const out = this.messages.filter((m) => m.type === RM_MSG_TYPE.NOTIFICATION && (msgId === undefined || m.msgId === msgId));
    for (const m of out) this.messages.splice(this.messages.indexOf(m), 1);
    return out;
  }
}

export interface Booted {
  readonly hyp: Hypervisor;
  readonly rm: ResourceManager;
  readonly hlos: RawClient;
}

export function boot(): Booted {
  const hyp = new Hypervisor({ seed: SEED });
  const sys = bootSystem(hyp);
  return { hyp, rm: sys.rm, hlos: new RawClient(sys.hlos.port) };
}

/** Encode a request payload with a messages.ts codec, failing the test if the value is refused. */
export function payload<T>(codec: Codec<T>, value: T): Uint8Array {
  const bytes = codec.encode(value);
  assert.ok(bytes instanceof Uint8Array, 'payload encodes');
  return bytes;
}
