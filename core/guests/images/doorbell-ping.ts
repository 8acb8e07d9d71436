// `doorbell-ping`: answers each ring of its receive doorbell (DOORBELL resource, spec §5, §9.6) by taking the
// flags (doorbell_receive) and ringing its send doorbell (DOORBELL_SRC) with the same flags.
import { GH_ERROR } from '../../abi/errors.js';
import { HYP_RESOURCE_TYPE } from '../../abi/rm.js';
import { readParams, type ImageDefinition, type NoParams } from '../image-types.js';
import { resourceOf, runImage, type Guest } from './common.js';

const ALL_FLAGS = 0xffff_ffff_ffff_ffffn;

/** Before the VM reports RUN: route the doorbell's vIRQ, so no ring finds it without a handler. */
async function setup(g: Guest): Promise<void> {
  const bell = resourceOf(g, HYP_RESOURCE_TYPE.DOORBELL);
  const reply = resourceOf(g, HYP_RESOURCE_TYPE.DOORBELL_SRC);
  if (bell === undefined || reply === undefined) {
    await g.print('doorbell-ping: no doorbell pair was given to this VM; idle\r\n');
    return;
  }
  g.rt.on(bell.virq, () => {
    const taken = g.cpu.hvc('doorbell_receive', [bell.capid, ALL_FLAGS]);
    const flags = taken.x[1]!;
    if (taken.err === GH_ERROR.OK && flags !== 0n) g.cpu.hvc('doorbell_send', [reply.capid, flags]);
  });
}

export const doorbellPingImage: ImageDefinition<NoParams> = {
  name: 'doorbell-ping',
  description: 'answers each doorbell ring by ringing back with the same flags',
  params: (raw) => readParams<NoParams>(raw, {}),
  program: (ctx) => (cpu) => runImage(cpu, ctx, { setup, serve: () => new Promise<void>(() => {}) }),
};
