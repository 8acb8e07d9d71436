// `msgq-echo`: sends back every message it receives on the message-queue pair its owner gave it (the
// MSG_QUEUE_RECV and MSG_QUEUE_SEND resources of VM_GET_HYP_RESOURCES, spec §9.6). When the reply queue is full,
// echoes wait (at most `backlog` of them) and go out as it drains; beyond that a message is counted as dropped and
// the console says so.
import { GH_ERROR, ghErrorName } from '../../abi/errors.js';
import { HYP_RESOURCE_TYPE } from '../../abi/rm.js';
import { readParams, type ImageDefinition } from '../image-types.js';
import { resourceOf, runImage, type Guest } from './common.js';

const MAX_MESSAGE = 1024;
/** How often a waiting backlog retries while the reply queue stays full (ns). */
const RETRY_NS = 5_000_000;

type Params = { backlog: number };

/** The echo of one VM: set up before it reports RUN, so no message finds it without a handler. */
class Echo {
  private readonly backlog: Uint8Array[] = [];
  private dropped = 0;
  private active = false;

  constructor(private readonly g: Guest, private readonly p: Params) {}

  async setup(): Promise<void> {
    const g = this.g;
    const rx = resourceOf(g, HYP_RESOURCE_TYPE.MSG_QUEUE_RECV);
    const tx = resourceOf(g, HYP_RESOURCE_TYPE.MSG_QUEUE_SEND);
    if (rx === undefined || tx === undefined) {
      await g.print('msgq-echo: no message queue pair was given to this VM; idle\r\n');
      return;
    }
    const receiveAll = () => this.receiveAll(rx.capid, tx.capid);
    g.rt.on(rx.virq, receiveAll);
    receiveAll(); // messages that arrived before the handler
    this.active = true;
    this.flushLater = () => this.flush(tx.capid);
  }

  /** Retry the backlog while the reply queue stays full. */
  async serve(): Promise<void> {
    if (!this.active) return new Promise<void>(() => {});
    for (;;) {
      await this.g.rt.sleep(RETRY_NS);
      this.flushLater();
    }
  }

  private flushLater: () => void = () => {};

  private flush(tx: bigint): void {
    const { cpu, scratchIpa: ipa } = this.g;
    while (this.backlog.length > 0) {
      const msg = this.backlog[0]!;
      cpu.mem.write(ipa, msg, 0, msg.length);
      if (cpu.hvc('msgqueue_send', [tx, msg.length, ipa, 1]).err === GH_ERROR.MSGQUEUE_FULL) return;
      this.backlog.shift();
    }
  }

  private receiveAll(rx: bigint, tx: bigint): void {
    const { cpu, scratchIpa: ipa } = this.g;
    for (;;) {
      const r = cpu.hvc('msgqueue_receive', [rx, ipa, MAX_MESSAGE]);
      if (r.err !== GH_ERROR.OK) {
        if (r.err !== GH_ERROR.MSGQUEUE_EMPTY) void this.g.print(`msgq-echo: receive failed: ${ghErrorName(r.err)}\r\n`);
        return;
      }
      const msg = cpu.mem.readBytes(ipa, Number(r.x[1]));
      if (typeof msg === 'number') return;
      if (this.backlog.length < this.p.backlog) this.backlog.push(msg);
      else if (this.dropped++ === 0) void this.g.print(`msgq-echo: backlog of ${this.p.backlog} full, dropping\r\n`);
      this.flush(tx);
      if (r.x[2] === 0n) return;
    }
  }
}

export const msgqEchoImage: ImageDefinition<Params> = {
  name: 'msgq-echo',
  description: 'sends back every message received on its message-queue pair',
  params: (raw) => readParams<Params>(raw, { backlog: { default: 64, min: 1, max: 4096 } }),
  program: (ctx) => (cpu) => {
    let echo: Echo | null = null;
    return runImage(cpu, ctx, {
      setup: (g) => (echo = new Echo(g, ctx.params)).setup(),
      serve: () => echo!.serve(),
    });
  },
};
