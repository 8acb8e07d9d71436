// gunyah/hypercalls/<call>/: the hypervisor's own statistics (core/hyp/stats.ts), by call name (spec §1.3 names,
// the SMCCC services in lower case, and `unknown`) and result (GH error names, spec §3.1).
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import { CALL_NAMES, RESULT_COUNT, RESULT_NAMES } from '../../core/hyp/stats.js';
import type { DirNode } from '../tree.js';
import { counterTableDir } from './counters.js';

export function hypercallsDir(hyp: Hypervisor): DirNode {
  return counterTableDir({
    rows: CALL_NAMES,
    columns: RESULT_NAMES,
    count: (call, result) => hyp.stats.counts[call * RESULT_COUNT + result]!,
  });
}
