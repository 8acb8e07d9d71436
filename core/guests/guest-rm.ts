// A guest image's RM driver: its end of the RM link (spec §4.5) driven from its own interrupt loop, under the same
// RmClient the HLOS uses. Packets go through msgqueue_send / msgqueue_receive on the guest's own registers with
// buffers in its own memory; the RX vIRQ drains the queue into the client, the TX vIRQ wakes a sender that found
// the queue full. Waiting is WFI in the guest's runtime, never a spin.
import { GH_ERROR } from '../abi/errors.js';
import { PAGE_SIZE } from '../abi/memory.js';
import { RM_RPC } from '../abi/rm.js';
import { capidWords, setMsgqReceiveRegs, setMsgqSendRegs } from '../ipc/msgqueue-regs.js';
import { VirqWaiters } from '../ipc/waiters.js';
import { RmCalls } from '../hlos/rm-calls.js';
import { RmClient, type RmLink } from '../hlos/rm-client.js';
import type { RmLinkInfo } from '../rm/port.js';
import type { GuestRuntime } from './runtime.js';

export class GuestRmPort implements RmLink {
  /** Called with each packet drained from the RX queue. */
  deliver: (packet: Uint8Array) => void = () => {};
  private readonly txIpa: number;
  private readonly rxIpa: number;
  private readonly tx: [number, number];
  private readonly rx: [number, number];
  private readonly rxBuf = new Uint8Array(RM_RPC.MESSAGE_SIZE);
  private readonly txWaiters = new VirqWaiters();

  /** @param bufferIpa a page of the guest's own memory: TX buffer in its first half, RX in its second. */
  constructor(private readonly rt: GuestRuntime, readonly link: RmLinkInfo, bufferIpa: number) {
    this.txIpa = bufferIpa;
    this.rxIpa = bufferIpa + PAGE_SIZE / 2;
    this.tx = capidWords(link.txCapid);
    this.rx = capidWords(link.rxCapid);
    rt.on(link.rxVirq, () => this.drain());
    rt.on(link.txVirq, () => this.txWaiters.wakeAll());
  }

  send(packet: Uint8Array, push: boolean): number {
    const cpu = this.rt.cpu;
    const err = cpu.mem.write(this.txIpa, packet, 0, packet.length);
    if (err !== GH_ERROR.OK) return err;
    setMsgqSendRegs(cpu.regs, this.tx[0], this.tx[1], packet.length, this.txIpa, push);
    cpu.hypercall();
    return cpu.regs[0]! | 0;
  }

  waitTxReady(signal: AbortSignal): Promise<void> {
    return this.txWaiters.wait(signal);
  }

  /** Receive while not_empty (Linux gunyah_rm_rx), handing each packet on. */
  private drain(): void {
    const cpu = this.rt.cpu;
    const r = cpu.regs;
    for (;;) {
      setMsgqReceiveRegs(r, this.rx[0], this.rx[1], this.rxIpa, this.rxBuf.length);
      cpu.hypercall();
      if ((r[0]! | 0) !== GH_ERROR.OK) return;
      const size = r[2]!;
      const notEmpty = r[4] !== 0;
      if (cpu.mem.read(this.rxIpa, this.rxBuf, 0, size) !== GH_ERROR.OK) return;
      this.deliver(this.rxBuf.slice(0, size));
      if (!notEmpty) return;
    }
  }
}

/** The typed RM calls of a guest over its own RM link. */
export function guestRmCalls(rt: GuestRuntime, link: RmLinkInfo, bufferIpa: number, timeoutMs?: number): RmCalls {
  const port = new GuestRmPort(rt, link, bufferIpa);
  const client = new RmClient(port, { timeoutMs });
  port.deliver = (packet) => client.deliver(packet);
  return new RmCalls(client);
}
