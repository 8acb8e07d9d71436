// Statistics kept by the core itself (as KVM keeps its stats): plain typed-array counters, cheap on the hot path.
// sysfs, REST and /metrics all read these; nothing else keeps a copy.
import { GH_ERROR_CODES, ghErrorName } from '../abi/errors.js';
import { HYPERCALLS, HYPERCALL_TABLE_SIZE } from '../abi/hypercalls.js';
import { SMCCC_CALL, type SmcccCallName } from '../abi/smccc.js';

/** The call index space: hypercall numbers first, then the SMCCC services, then "unknown". */
const SMCCC_NAMES = Object.keys(SMCCC_CALL) as SmcccCallName[];
export const CALL_INDEX = {
  smccc: (name: SmcccCallName): number => HYPERCALL_TABLE_SIZE + SMCCC_NAMES.indexOf(name),
  UNKNOWN: HYPERCALL_TABLE_SIZE + SMCCC_NAMES.length,
} as const;
export const CALL_COUNT = CALL_INDEX.UNKNOWN + 1;

/** Name of each call index (`null` for numbers that name no call). */
export const CALL_NAMES: readonly (string | null)[] = (() => {
  const names: (string | null)[] = new Array(CALL_COUNT).fill(null);
  for (const c of HYPERCALLS) names[c.n] = c.name;
  SMCCC_NAMES.forEach((name, i) => (names[HYPERCALL_TABLE_SIZE + i] = name.toLowerCase()));
  names[CALL_INDEX.UNKNOWN] = 'unknown';
  return names;
})();

/** Results: every GH error code by position, SMCCC's NOT_SUPPORTED shares UNIMPLEMENTED's -1. */
const RESULT_OFFSET = 2; // codes start at -2
const RESULT_SPAN = 203;
const RESULT_INDEX = (() => {
  const idx = new Int16Array(RESULT_SPAN).fill(-1);
  GH_ERROR_CODES.forEach((code, i) => (idx[code + RESULT_OFFSET] = i));
  return idx;
})();
export const RESULT_COUNT = GH_ERROR_CODES.length + 1; // + "other" (an SMCCC return value that is not an error)
const OK_INDEX = RESULT_INDEX[RESULT_OFFSET]!;
/** Index of the (call, OK) counter in HypercallStats.counts. */
export const okCounter = (call: number): number => call * RESULT_COUNT + OK_INDEX;
export const RESULT_NAMES: readonly string[] = [...GH_ERROR_CODES.map(ghErrorName), 'other'];

export class HypercallStats {
  /** Off: the hot path skips counting (the statistics benchmark measures the difference). */
  enabled = true;
  /** counts[call * RESULT_COUNT + result]. */
  readonly counts = new Float64Array(CALL_COUNT * RESULT_COUNT);

  /** Count one call; the caller checks `enabled` (dispatch does, once per call). */
  record(call: number, result: number): void {
    if (result === 0) {
      this.counts[okCounter(call)]++; // the common case, without the table look-up
      return;
    }
    const r = result >= -RESULT_OFFSET && result < RESULT_SPAN - RESULT_OFFSET ? RESULT_INDEX[result + RESULT_OFFSET]! : -1;
    this.counts[call * RESULT_COUNT + (r < 0 ? RESULT_COUNT - 1 : r)]++;
  }

  /** Total calls of one call index, all results. */
  total(call: number): number {
    let n = 0;
    for (let r = 0; r < RESULT_COUNT; r++) n += this.counts[call * RESULT_COUNT + r]!;
    return n;
  }

  /** Non-zero counters as {call, result, count}: what sysfs, REST and /metrics print. */
  *entries(): IterableIterator<{ call: string; result: string; count: number }> {
    for (let c = 0; c < CALL_COUNT; c++) {
      const call = CALL_NAMES[c];
      if (call === null || call === undefined) continue;
      for (let r = 0; r < RESULT_COUNT; r++) {
        const count = this.counts[c * RESULT_COUNT + r]!;
        if (count > 0) yield { call, result: RESULT_NAMES[r]!, count };
      }
    }
  }
}
