// Hypercall counts (spec §1.3, §3.1) from the core's HypercallStats matrix and each VM's own counter.
import { CALL_COUNT, CALL_NAMES, RESULT_COUNT, RESULT_NAMES } from '../../../core/hyp/stats.js';
import type { ExpositionWriter } from '../exposition.js';
import { FAMILY, UNKNOWN_CALL } from '../families.js';
import { bounded, header, type Scrape } from './scrape.js';

const HYPERCALLS = FAMILY.gunyah_hypercalls_total;
const VM_HYPERCALLS = FAMILY.gunyah_vm_hypercalls_total;

/**
 * The `call` label of each call index: the catalogue's spelling (the stats name SMCCC services in lower case, the
 * catalogue as SMCCC_CALL spells them), `unknown` for anything else.
 */
const CALL_LABELS: readonly string[] = (() => {
  const byLower = new Map<string, string>(HYPERCALLS.values.call.map((v) => [v.toLowerCase(), v]));
  return CALL_NAMES.map((name) => (name === null ? UNKNOWN_CALL : byLower.get(name.toLowerCase()) ?? UNKNOWN_CALL));
})();
const RESULT_LABELS: readonly string[] = RESULT_NAMES.map((name) => bounded(HYPERCALLS, 'result', name));
/** `call="…",result="…"` of each counter index. */
const SERIES: readonly string[] = Array.from(
  { length: CALL_COUNT * RESULT_COUNT },
  (_, i) => `call="${CALL_LABELS[Math.floor(i / RESULT_COUNT)]}",result="${RESULT_LABELS[i % RESULT_COUNT]}"`,
);

export function* hypervisorCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  header(w, HYPERCALLS);
  // Summed by label set: indexes outside the catalogue share `unknown`, and a series must not repeat.
  const counts = s.sources.hyp.stats.counts;
  const bySeries = new Map<string, number>();
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n > 0) bySeries.set(SERIES[i]!, (bySeries.get(SERIES[i]!) ?? 0) + n);
  }
  for (const [labels, n] of bySeries) w.sample(HYPERCALLS.name, labels, n);
  yield;

  header(w, VM_HYPERCALLS);
  for (let i = 0; i < s.vms.length; i++) {
    w.sample(VM_HYPERCALLS.name, s.vmLabels[i]!, s.vms[i]!.vm?.hypercalls ?? 0);
    yield;
  }
}
