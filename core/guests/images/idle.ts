// `idle`: boots (os_status BOOT -> RUN) and then waits for interrupts forever, handling none.
import { readParams, type ImageDefinition, type NoParams } from '../image-types.js';
import { runImage } from './common.js';

export const idleImage: ImageDefinition<NoParams> = {
  name: 'idle',
  description: 'boots, then waits for interrupts forever',
  params: (raw) => readParams<NoParams>(raw, {}),
  program: (ctx) => (cpu) => runImage(cpu, ctx, { serve: () => new Promise<void>(() => {}) }),
};
