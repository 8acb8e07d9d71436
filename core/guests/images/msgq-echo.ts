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

async function serve(g: Guest, p: Params): Promise<void> {
  const rx = resourceOf(g, HYP_RESOURCE_TYPE.MSG_QUEUE_RECV);
  const tx = resourceOf(g, HYP_RESOURCE_TYPE.MSG_QUEUE_SEND);
  if (rx === undefined || tx === undefined) {
    await g.print('msgq-echo: no message queue pair was given to this VM; idle\r\n');
    return new Promise<void>(() => {});
  }
  const ipa = g.scratchIpa;
  const backlog: Uint8Array[] = [];
  let dropped = 0;
  const flush = (): void => {
    while (backlog.length > 0) {
      const msg = backlog[0]!;
      g.cpu.mem.write(ipa, msg, 0, msg.length);
      const r = g.cpu.hvc('msgqueue_send', [tx.capid, msg.length, ipa, 1]);
      if (r.err === GH_ERROR.MSGQUEUE_FULL) return;
      backlog.shift();
    }
  };
  const receiveAll = (): void => {
    for (;;) {
      const r = g.cpu.hvc('msgqueue_receive', [rx.capid, ipa, MAX_MESSAGE]);
      if (r.err !== GH_ERROR.OK) {
        if (r.err !== GH_ERROR.MSGQUEUE_EMPTY) void g.print(`msgq-echo: receive failed: ${ghErrorName(r.err)}\r\n`);
        return;
      }
      const msg = g.cpu.mem.readBytes(ipa, Number(r.x[1]));
      if (typeof msg === 'number') return;
      if (backlog.length < p.backlog) backlog.push(msg);
      else if (dropped++ === 0) void g.print(`msgq-echo: backlog of ${p.backlog} full, dropping\r\n`);
      flush();
      if (r.x[2] === 0n) return;
    }
  };
  g.rt.on(rx.virq, receiveAll);
  receiveAll(); // messages that arrived before the handler
  for (;;) {
    await g.rt.sleep(RETRY_NS);
    flush();
  }
}

export const msgqEchoImage: ImageDefinition<Params> = {
  name: 'msgq-echo',
  description: 'sends back every message received on its message-queue pair',
  params: (raw) => readParams<Params>(raw, { backlog: { default: 64, min: 1, max: 4096 } }),
  program: (ctx) => (cpu) => runImage(cpu, ctx, { serve: (g) => serve(g, ctx.params) }),
};
