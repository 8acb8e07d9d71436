// prng_get_entropy (spec §1.3 0x57) and trace_update_class_flags (0x3F): calls that need no capability.
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GH_ERROR } from '../abi/errors.js';
import { PRNG_ENTROPY, TRACE_CLASS } from '../abi/hypercalls.js';
import type { Vcpu } from '../vm/vcpu.js';
import { argBig, setResult, type HandlerTable } from './handler.js';
import type { Hypervisor } from './hypervisor.js';
import { argU32 } from './regs.js';

/** Per-vCPU read window of the entropy rate limit. */
interface EntropyWindow {
  start: number;
  reads: number;
}
const windows = new WeakMap<Vcpu, EntropyWindow>();

/** The hypervisor's DoS limit: READS_PER_WINDOW reads per vCPU in each WINDOW_MS, then ERROR_BUSY. */
function entropyAllowed(vcpu: Vcpu): boolean {
  const now = performance.now();
  const w = windows.get(vcpu);
  if (w === undefined || now - w.start >= PRNG_ENTROPY.WINDOW_MS) {
    windows.set(vcpu, { start: now, reads: 1 });
    return true;
  }
  if (w.reads === PRNG_ENTROPY.READS_PER_WINDOW) return false;
  w.reads++;
  return true;
}

const cryptoWords = new Uint32Array(PRNG_ENTROPY.MAX_BYTES / PRNG_ENTROPY.WORD_BYTES);

/** Random words: the hypervisor's seeded Prng when a seed was given (reproducible tests), else node:crypto. */
function entropyWords(hyp: Hypervisor, count: number, out: Uint32Array): void {
  if (!hyp.seeded) randomFillSync(cryptoWords);
  for (let k = 0; k < count; k++) out[2 * (k + 1)] = hyp.seeded ? hyp.prng.u32() : cryptoWords[k]!;
}

/** Class bits a hypercall may not change (the hypervisor's internal classes). */
const INTERNAL_CLASSES = 1n << BigInt(TRACE_CLASS.ERROR);

export const miscCalls: HandlerTable = {
  /** prng_get_entropy(num_bytes): data0..data3 hold num_bytes / 4 random words, the rest 0. */
  prng_get_entropy(vcpu, a, out) {
    const numBytes = argU32(a, 0);
    if (!(numBytes > 0 && numBytes <= PRNG_ENTROPY.MAX_BYTES)) return GH_ERROR.ARGUMENT_SIZE;
    if (numBytes % PRNG_ENTROPY.WORD_BYTES !== 0) return GH_ERROR.ARGUMENT_ALIGNMENT;
    if (!entropyAllowed(vcpu)) return GH_ERROR.BUSY;
    entropyWords(vcpu.vm!.hyp, numBytes / PRNG_ENTROPY.WORD_BYTES, out);
    return GH_ERROR.OK;
  },

  /** trace_update_class_flags(set, clear): flags = (flags & ~clear) | set, internal classes kept; returns flags. */
  trace_update_class_flags(vcpu, a, out) {
    const hyp = vcpu.vm!.hyp;
    const set = argBig(a, 0) & ~INTERNAL_CLASSES;
    const clear = argBig(a, 1) & ~INTERNAL_CLASSES;
    hyp.traceClassFlags = (hyp.traceClassFlags & ~clear) | set;
    setResult(out, 1, hyp.traceClassFlags);
    return GH_ERROR.OK;
  },
};
