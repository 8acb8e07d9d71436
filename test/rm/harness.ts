// Test harness for the RM: a booted system and raw RPC clients that build packets with the codec, send them with
// a VM's own port and read what comes back, so tests see exactly the bytes the RM puts on the wire.
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { RM_MSG_TYPE, rmErrorName } from '../../core/abi/rm.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { MEM_ACL_RIGHT, RM_MSG } from '../../core/abi/rm.js';
import { bootSystem, HLOS_RAM } from '../../core/rm/boot.js';
import type { ImageLoader } from '../../core/rm/image-loader.js';
import {
  isRmError, MemHandleReply, MemparcelCreateRequest, VmAllocateReply, VmConfigImageRequest, VmidRequest,
  type Codec,
} from '../../core/rm/messages.js';
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

  /** Send a request and wait for the REPLY with its seq; a full queue waits for the TX-ready vIRQ. */
  async call(msgId: number, payload: Uint8Array = new Uint8Array(0)): Promise<Reply> {
    const seq = this.nextSeq++ & 0xffff;
    const packets = encodeMessage('request', msgId, seq, payload);
    assert.ok(Array.isArray(packets), 'request encodes');
    for (let i = 0; i < packets.length; i++) {
      let err = this.port.send(packets[i]!, i === packets.length - 1);
      while (err === GH_ERROR.MSGQUEUE_FULL) {
        await this.port.waitTxReady();
        err = this.port.send(packets[i]!, i === packets.length - 1);
      }
      assert.equal(err, GH_ERROR.OK, 'request packet sent');
    }
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

/** What a test image's program does when VM_START powers vCPU 0 on. */
export type TestProgram = 'exit' | 'throw';
const PROGRAMS: readonly TestProgram[] = ['exit', 'throw'];

/** A test image: "TEST", the vCPU count (u8), the program (u8). */
export function testImage(vcpus: number, program: TestProgram): Uint8Array {
  return Uint8Array.of(0x54, 0x45, 0x53, 0x54, vcpus, PROGRAMS.indexOf(program));
}

/** The loader of test images; VMIDs whose program ran are pushed to `ran`. */
function testLoader(ran: number[]): ImageLoader {
  const valid = (image: Uint8Array) => image.length >= 6 && String.fromCharCode(...image.subarray(0, 4)) === 'TEST';
  return {
    vcpus: (image) => (valid(image) && image[4]! > 0 ? image[4]! : { reason: 'not a test image' }),
    load(vm, image, imageIpa) {
      if (!valid(image) || PROGRAMS[image[5]!] === undefined) return { ok: false, reason: 'not a test image' };
      const program = PROGRAMS[image[5]!]!;
      vm.programs.set(imageIpa, async () => {
        ran.push(vm.vmid);
        if (program === 'throw') throw new Error('guest bug');
      });
      return { ok: true, name: `test-${program}` };
    },
  };
}

export interface Booted {
  readonly hyp: Hypervisor;
  readonly rm: ResourceManager;
  readonly hlos: RawClient;
  /** VMIDs whose test program ran (VM_START reached it). */
  readonly ran: number[];
}

export function boot(): Booted {
  const hyp = new Hypervisor({ seed: SEED });
  const sys = bootSystem(hyp);
  const ran: number[] = [];
  sys.rm.setImageLoader(testLoader(ran));
  return { hyp, rm: sys.rm, hlos: new RawClient(sys.hlos.port), ran };
}

export interface GuestSpec {
  /** A fixed VMID below 64; default dynamic. */
  vmid?: number;
  vcpus?: number;
  program?: TestProgram;
  /** The image bytes instead of a test image. */
  image?: Uint8Array;
  /** Bytes lent to the VM (default 64 KiB: the image, then the devicetree page). */
  size?: number;
  /** How far the bring-up goes (default 'ready', after VM_INIT). */
  until?: 'allocated' | 'lent' | 'configured' | 'ready';
}

export interface Guest {
  readonly vmid: number;
  /** The parcel lent to the VM, where the HLOS has it (and the VM sees it, once built). */
  readonly base: number;
  readonly size: number;
  readonly handle: number | null;
  /** The guest's raw client on its RM link, once VM_INIT built it. */
  readonly rpc: RawClient | null;
}

const nextBase = new WeakMap<Booted, number>();

/**
 * The HLOS's bring-up of a secondary VM as spec §9.7 orders it: VM_ALLOCATE, MEM_LEND of a range of HLOS RAM
 * holding the image, VM_CONFIG_IMAGE (image, then the devicetree in the last page), VM_INIT. Each step must be OK.
 */
export async function createGuest(b: Booted, spec: GuestSpec = {}): Promise<Guest> {
  const until = spec.until ?? 'ready';
  const size = spec.size ?? 16 * PAGE_SIZE;
  const alloc = await b.hlos.ok(RM_MSG.VM_ALLOCATE, payload(VmidRequest, { vmid: spec.vmid ?? 0 }), VmAllocateReply);
  const vmid = alloc.vmid ?? spec.vmid!;
  const base = nextBase.get(b) ?? HLOS_RAM.base;
  nextBase.set(b, base + size);
  if (until === 'allocated') return { vmid, base, size, handle: null, rpc: null };
  const hlosVm = b.hyp.vms.get(3)!;
  assert.equal(hlosVm.memory.writeBytes(base, spec.image ?? testImage(spec.vcpus ?? 1, spec.program ?? 'exit')), GH_ERROR.OK);
  const { handle } = await b.hlos.ok(RM_MSG.MEM_LEND, payload(MemparcelCreateRequest, {
    memType: 0, flags: 0, label: 0, acl: [{ vmid, rights: MEM_ACL_RIGHT.R | MEM_ACL_RIGHT.W | MEM_ACL_RIGHT.X }],
    sgl: [{ ipa: BigInt(base), size: BigInt(size) }], attrs: [],
  }), MemHandleReply);
  if (until === 'lent') return { vmid, base, size, handle, rpc: null };
  const config = await b.hlos.call(RM_MSG.VM_CONFIG_IMAGE, payload(VmConfigImageRequest, {
    vmid, auth: 0, memHandle: handle, imageOffset: 0n, imageSize: BigInt(size - PAGE_SIZE),
    dtbOffset: BigInt(size - PAGE_SIZE), dtbSize: BigInt(PAGE_SIZE),
  }));
  assert.equal(rmErrorName(config.rmError), 'RM_OK', 'VM_CONFIG_IMAGE');
  if (until === 'configured') return { vmid, base, size, handle, rpc: null };
  const init = await b.hlos.call(RM_MSG.VM_INIT, payload(VmidRequest, { vmid }));
  assert.equal(rmErrorName(init.rmError), 'RM_OK', 'VM_INIT');
  return { vmid, base, size, handle, rpc: guestClient(b, vmid, base + size - 2 * PAGE_SIZE) };
}

/** A raw RPC client on a built VM's RM link, as its devicetree declares it, with buffers at `bufferIpa`. */
export function guestClient(b: Booted, vmid: number, bufferIpa: number): RawClient {
  const vm = b.hyp.vms.get(vmid)!;
  return new RawClient(new MsgqPort(vm.vcpus[0]!, b.rm.linkOf(vmid)!, bufferIpa));
}

/** Encode a request payload with a messages.ts codec, failing the test if the value is refused. */
export function payload<T>(codec: Codec<T>, value: T): Uint8Array {
  const bytes = codec.encode(value);
  assert.ok(bytes instanceof Uint8Array, 'payload encodes');
  return bytes;
}
