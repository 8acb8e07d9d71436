// One VM's end of a message-queue pair (spec §4): what the RM uses towards each client, and what the HLOS driver and
// guest images use towards the RM. Everything it does on the queues is a real hypercall (msgqueue_send /
// msgqueue_receive, SMCCC convention) on the VM's vCPU registers with a buffer in the VM's own memory, so it shows
// in the hypercall statistics; it learns of its vIRQs through the VM's vIC (VirqRouter), so waiting never spins.
//
//   new MsgqPort(vcpu, link, bufferIpa)
//   send(packet, push) -> GH error        OK, MSGQUEUE_FULL (wait for TX ready), ARGUMENT_SIZE, ADDR_INVALID, ...
//   receive() -> packet | GH error        MSGQUEUE_EMPTY when nothing is queued; `notEmpty` tells if more wait
//   onPacket = fn                         on each RX vIRQ the port drains the queue (while not_empty) into fn
//   onTxReady = fn                        the TX vIRQ fired: a full queue drained to depth - 1 (spec §4.3)
//   waitTxReady(signal?) / waitRxPending(signal?)   promises for the next TX / RX vIRQ
//   close()                               stops listening to the vIRQs (the queues stay)
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { PAGE_SIZE } from '../abi/memory.js';
import { capidWords, setMsgqReceiveRegs, setMsgqSendRegs } from '../ipc/msgqueue-regs.js';
import { VirqWaiters } from '../ipc/waiters.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Vm } from '../vm/vm.js';
import { VirqRouter } from './virq-router.js';

/**
 * The devicetree facts of one VM's RM link (spec §4.5, §12): `reg` = <tx capid, rx capid> in the VM's cspace,
 * `interrupts` = <tx vIRQ ("tx ready"), rx vIRQ ("rx pending")>.
 */
export interface RmLinkInfo {
  /** Capability with the SEND right on the queue towards the peer. */
  readonly txCapid: bigint;
  /** Capability with the RECEIVE right on the queue from the peer. */
  readonly rxCapid: bigint;
  /** Send vIRQ of the TX queue: space became available. */
  readonly txVirq: number;
  /** Receive vIRQ of the RX queue: a message is pending. */
  readonly rxVirq: number;
}

/** The port's scratch page holds the TX buffer in its first half and the RX buffer in its second. */
const HALF_PAGE = PAGE_SIZE / 2;

export interface MsgqPortStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Sends refused with MSGQUEUE_FULL. */
  fullRejects: number;
  txInterrupts: number;
  rxInterrupts: number;
}

export class MsgqPort {
  readonly vm: Vm;
  readonly txCapid: bigint;
  readonly rxCapid: bigint;
  readonly txVirq: number;
  readonly rxVirq: number;
  readonly stats: MsgqPortStats = {
    packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, fullRejects: 0, txInterrupts: 0,
    rxInterrupts: 0,
  };
  /** not_full of the last successful send: false means the queue is now full (wait for TX ready). */
  notFull = true;
  /** not_empty of the last successful receive. */
  notEmpty = false;
  /** Called with each packet the port drains after an RX vIRQ; while null, packets wait in the queue. */
  onPacket: ((packet: Uint8Array) => void) | null = null;
  onTxReady: (() => void) | null = null;
  private readonly txLo: number;
  private readonly txHi: number;
  private readonly rxLo: number;
  private readonly rxHi: number;
  private readonly txIpa: number;
  private readonly rxIpa: number;
  private readonly txWaiters = new VirqWaiters();
  private readonly rxWaiters = new VirqWaiters();
  private readonly releases: (() => void)[];

  /**
   * @param vcpu      the vCPU whose registers carry the hypercalls (the VM's own)
   * @param link      capids and vIRQs of the pair, as the VM's devicetree declares them
   * @param bufferIpa a page-aligned page of the VM's memory, writable, reserved for the port's buffers
   */
  constructor(readonly vcpu: Vcpu, link: RmLinkInfo, readonly bufferIpa: number) {
    this.vm = vcpu.vm!;
    this.txCapid = link.txCapid;
    this.rxCapid = link.rxCapid;
    this.txVirq = link.txVirq;
    this.rxVirq = link.rxVirq;
    [this.txLo, this.txHi] = capidWords(link.txCapid);
    [this.rxLo, this.rxHi] = capidWords(link.rxCapid);
    this.txIpa = bufferIpa;
    this.rxIpa = bufferIpa + HALF_PAGE;
    const router = VirqRouter.of(this.vm.vic);
    this.releases = [router.claim(link.txVirq, this.txInterrupt), router.claim(link.rxVirq, this.rxInterrupt)];
  }

  /**
   * msgqueue_send of one packet (spec §4.3). `push` asserts the receiver's vIRQ even when the queue was not empty:
   * the RM never pushes; Linux pushes the last fragment of a request (spec §9.1).
   */
  send(packet: Uint8Array, push = false): GhError {
    if (packet.length > HALF_PAGE) return GH_ERROR.ARGUMENT_SIZE;
    const err = this.vm.memory.write(this.txIpa, packet, 0, packet.length);
    if (err !== GH_ERROR.OK) return err;
    const r = this.vcpu.regs;
    setMsgqSendRegs(r, this.txLo, this.txHi, packet.length, this.txIpa, push);
    this.vm.hyp.hypercall(this.vcpu, r, 0);
    const result = (r[0]! | 0) as GhError;
    if (result === GH_ERROR.OK) {
      this.notFull = r[2] !== 0;
      this.stats.packetsSent++;
      this.stats.bytesSent += packet.length;
    } else if (result === GH_ERROR.MSGQUEUE_FULL) {
      this.notFull = false;
      this.stats.fullRejects++;
    }
    return result;
  }

  /** msgqueue_receive of one packet (spec §4.3): the packet, or MSGQUEUE_EMPTY / another GH error. */
  receive(): Uint8Array | GhError {
    const r = this.vcpu.regs;
    setMsgqReceiveRegs(r, this.rxLo, this.rxHi, this.rxIpa, HALF_PAGE);
    this.vm.hyp.hypercall(this.vcpu, r, 0);
    const result = (r[0]! | 0) as GhError;
    if (result !== GH_ERROR.OK) {
      if (result === GH_ERROR.MSGQUEUE_EMPTY) this.notEmpty = false;
      return result;
    }
    const size = r[2]!;
    this.notEmpty = r[4] !== 0;
    const packet = new Uint8Array(size);
    const copied = this.vm.memory.read(this.rxIpa, packet, 0, size);
    if (copied !== GH_ERROR.OK) return copied;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += size;
    return packet;
  }

  /** Resolves at the next TX vIRQ, or when `signal` aborts. */
  waitTxReady(signal?: AbortSignal): Promise<void> {
    return this.txWaiters.wait(signal);
  }

  /** Resolves at the next RX vIRQ, or when `signal` aborts. */
  waitRxPending(signal?: AbortSignal): Promise<void> {
    return this.rxWaiters.wait(signal);
  }

  /** Stop listening to the link's vIRQs and release every waiter. */
  close(): void {
    for (const release of this.releases) release();
    this.onPacket = null;
    this.onTxReady = null;
    this.txWaiters.wakeAll();
    this.rxWaiters.wakeAll();
  }

  /** Receive until the queue is empty (Linux gunyah_rm_rx: loop while not_empty), handing packets to onPacket. */
  drain(): void {
    for (;;) {
      const consumer = this.onPacket;
      if (consumer === null) return;
      const packet = this.receive();
      if (typeof packet === 'number') return;
      consumer(packet);
      if (!this.notEmpty) return;
    }
  }

  private readonly txInterrupt = (): void => {
    this.stats.txInterrupts++;
    this.notFull = true;
    this.txWaiters.wakeAll();
    this.onTxReady?.();
  };

  private readonly rxInterrupt = (): void => {
    this.stats.rxInterrupts++;
    this.rxWaiters.wakeAll();
    this.drain();
  };
}
