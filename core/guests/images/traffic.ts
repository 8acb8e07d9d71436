// `traffic`: steady load at a set rate. Each operation is one message on the queue to its owner (its MSG_QUEUE_SEND
// resource, spec §9.6) and one ring of the owner's doorbell (DOORBELL_SRC); a status line goes to its console
// `console_rate` times a second. The HLOS consumes both (core/hlos/traffic-sink.ts). A full queue ends the batch:
// the operations due wait for the next tick, so the rate holds on average and bursts never overrun the queue.
// Operations are paced on the virtual timer: the vCPU sleeps between batches, a late batch catches up at most one
// second's worth, so the rate is bounded.
import { GH_ERROR } from '../../abi/errors.js';
import { HYP_RESOURCE_TYPE } from '../../abi/rm.js';
import { readParams, type ImageDefinition } from '../image-types.js';
import { resourceOf, runImage, type Guest } from './common.js';

type Params = { rate: number; console_rate: number; bytes: number };

const MIN_TICK_NS = 1_000_000;


async function serve(g: Guest, p: Params): Promise<void> {
  const tx = resourceOf(g, HYP_RESOURCE_TYPE.MSG_QUEUE_SEND);
  const bell = resourceOf(g, HYP_RESOURCE_TYPE.DOORBELL_SRC);
  // full: batches a full queue cut short.
  const n = { messages: 0, rings: 0, full: 0 };
  const message = new Uint8Array(p.bytes).fill(0x54);
  if (tx) g.cpu.mem.write(g.scratchIpa, message, 0, message.length);

  if (!tx || !bell) await g.print(`traffic: no ${tx ? 'doorbell' : 'message queue'} to the owner; that load is skipped\r\n`);

  /** One message and one ring; false when the queue is full (nothing done). */
  const operate = (): boolean => {
    if (tx) {
      const err = g.cpu.hvc('msgqueue_send', [tx.capid, message.length, g.scratchIpa, 1]).err;
      if (err === GH_ERROR.MSGQUEUE_FULL) return false;
      if (err === GH_ERROR.OK) n.messages++;
    }
    if (bell && g.cpu.hvc('doorbell_send', [bell.capid, 1]).err === GH_ERROR.OK) n.rings++;
    return true;
  };

  const start = performance.now();
  const tickNs = Math.max(MIN_TICK_NS, 1e9 / p.rate);
  let done = 0;
  let lines = 0;
  for (;;) {
    await g.rt.sleep(tickNs);
    const seconds = (performance.now() - start) / 1000;
    done = Math.max(done, Math.floor(seconds * p.rate) - p.rate); // a long stall is not made up beyond 1 s
    const due = Math.floor(seconds * p.rate) - done;
    for (let i = 0; i < due; i++, done++) {
      if (!operate()) {
        n.full++;
        break;
      }
    }
    const linesDue = Math.floor(seconds * p.console_rate);
    if (linesDue > lines) {
      lines = linesDue;
      await g.print(`traffic vm ${g.vmid}: ${n.messages} messages, ${n.rings} rings, queue full ${n.full} times\r\n`);
    }
  }
}

export const trafficImage: ImageDefinition<Params> = {
  name: 'traffic',
  description: 'steady message-queue, doorbell and console load at a set rate',
  params: (raw) =>
    readParams<Params>(raw, {
      rate: { default: 50, min: 1, max: 10_000 },
      console_rate: { default: 1, min: 0, max: 1000 },
      bytes: { default: 64, min: 1, max: 240 },
    }),
  program: (ctx) => (cpu) => runImage(cpu, ctx, { serve: (g) => serve(g, ctx.params) }),
};
