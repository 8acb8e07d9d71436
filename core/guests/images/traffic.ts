// `traffic`: steady load at a set rate. Each operation is one message on the queue to its owner (its MSG_QUEUE_SEND
// resource, spec §9.6) and one ring of the owner's doorbell (DOORBELL_SRC); a status line goes to its console
// `console_rate` times a second. The HLOS consumes both (core/hlos/traffic-sink.ts); a message the full queue
// refuses is counted, not retried.
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
  // refused: messages the full queue refused.
  const n = { messages: 0, refused: 0, rings: 0 };
  const message = new Uint8Array(p.bytes).fill(0x54);
  if (tx) g.cpu.mem.write(g.scratchIpa, message, 0, message.length);

  if (!tx || !bell) await g.print(`traffic: no ${tx ? 'doorbell' : 'message queue'} to the owner; that load is skipped\r\n`);

  const operate = (): void => {
    if (tx) {
      const r = g.cpu.hvc('msgqueue_send', [tx.capid, message.length, g.scratchIpa, 1]);
      if (r.err === GH_ERROR.OK) n.messages++;
      else n.refused++;
    }
    if (bell && g.cpu.hvc('doorbell_send', [bell.capid, 1]).err === GH_ERROR.OK) n.rings++;
  };

  const start = performance.now();
  const tickNs = Math.max(MIN_TICK_NS, 1e9 / p.rate);
  let done = 0;
  let lines = 0;
  for (;;) {
    await g.rt.sleep(tickNs);
    const seconds = (performance.now() - start) / 1000;
    const due = Math.min(Math.floor(seconds * p.rate) - done, p.rate);
    for (let i = 0; i < due; i++) operate();
    done += Math.max(due, 0);
    done = Math.max(done, Math.floor(seconds * p.rate) - p.rate); // a long stall is not made up beyond 1 s
    const linesDue = Math.floor(seconds * p.console_rate);
    if (linesDue > lines) {
      lines = linesDue;
      await g.print(`traffic vm ${g.vmid}: ${n.messages} messages, ${n.rings} rings, ${n.refused} refused\r\n`);
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
