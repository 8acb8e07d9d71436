// Console throughput from a guest to the HLOS (issue 3 target: at least 10 MB/s): a guest writes its console as
// fast as its RM link allows (VM_CONSOLE_WRITE of CONSOLE_WRITE_MAX bytes, one after the other), the RM forwards
// each write to the HLOS as VM_CONSOLE_CHARS, and the HLOS driver reassembles them. Bytes counted on arrival at
// the HLOS. Run: npx tsc -p . && node dist/bench/console.bench.js
import { VMID } from '../core/abi/vmid.js';
import { runImage } from '../core/guests/images/common.js';
import type { ImageDefinition, NoParams } from '../core/guests/image-types.js';
import { readParams } from '../core/guests/image-types.js';
import { BUILT_IN_IMAGES } from '../core/guests/loader.js';
import { CONSOLE_WRITE_MAX } from '../core/hlos/rm-calls.js';
import { RmFailure } from '../core/hlos/rm-failure.js';
import { bootDevice } from '../core/hlos/device.js';
import { VmError } from '../core/hlos/vm-manager.js';
import { report } from './measure.js';

const ROUNDS = 5;
const ROUND_MS = 1000;

/** A guest that writes its console without pause, in chunks of `chunk` bytes. */
function flood(chunk: number): ImageDefinition<NoParams> {
  return {
    name: `console-flood-${chunk}`,
    description: 'writes its console as fast as it can',
    params: (raw) => readParams<NoParams>(raw, {}),
    program: (ctx) => (cpu) =>
      runImage(cpu, ctx, {
        async serve(g) {
          const bytes = new Uint8Array(chunk).fill(0x2e);
          for (;;) {
            const r = await g.rm.consoleWrite(VMID.SELF, bytes);
            if (r instanceof RmFailure) throw new Error(r.message);
          }
        },
      }),
  };
}

async function measure(chunk: number): Promise<number> {
  const image = flood(chunk);
  const dev = bootDevice({ seed: 1, images: new Map([...BUILT_IN_IMAGES, [image.name, image]]) });
  let bytes = 0;
  dev.hlos.events.on('console-output', (e) => (bytes += e.bytes.length));
  const vm = await dev.hlos.createVm({ name: 'flood', image: image.name });
  if (vm instanceof VmError) throw new Error(vm.detail);
  await new Promise((r) => setTimeout(r, 300)); // warm-up
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const from = bytes;
    const start = performance.now();
    await new Promise((r) => setTimeout(r, ROUND_MS));
    best = Math.max(best, ((bytes - from) * 1000) / (performance.now() - start));
  }
  dev.close();
  return best;
}

for (const chunk of [228, CONSOLE_WRITE_MAX]) {
  const rate = await measure(chunk);
  const note = chunk === CONSOLE_WRITE_MAX ? '(the HLOS and guest driver chunk; target >= 10 MB/s)' : "(Linux's 228-byte chunks)";
  report(`console guest -> HLOS, ${chunk}-byte writes`, `${(rate / 1e6).toFixed(1)} MB/s`, note);
}
