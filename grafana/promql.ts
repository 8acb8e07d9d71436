// PromQL building blocks shared by the dashboards and the alert rules. Metric names are typed from the catalogue,
// so a renamed family fails to compile here rather than leaving an empty panel.

import { GH_ERROR, ghErrorName } from '../core/abi/errors.js';
import { RM_ERROR, rmErrorName } from '../core/abi/rm.js';
import {
  FAMILY,
  type DefaultMetricName,
  type HistogramName,
  type MetricFamily,
  type MetricName,
} from '../server/metrics/families.js';

/** A series name Prometheus stores: a family, a histogram's parts, or a prom-client default metric. */
export type SeriesName = MetricName | `${HistogramName}_${'bucket' | 'sum' | 'count'}` | DefaultMetricName;

/** The `result` label of a successful hypercall (`OK`) and of a successful RM reply (`RM_OK`). */
export const HYPERCALL_OK = ghErrorName(GH_ERROR.OK);
export const RM_OK = rmErrorName(RM_ERROR.OK);

/** Grafana's rate window: at least four scrape intervals, so a rate never falls between two samples. */
export const RATE_INTERVAL = '$__rate_interval';

const FAMILIES: Partial<Record<string, MetricFamily>> = FAMILY;
/** The labels of a series' family; none for prom-client's default metrics. */
const labelsOf = (name: SeriesName) => FAMILIES[name.replace(/_(bucket|sum|count)$/, '')]?.labels ?? [];

const selector = (name: string, matchers: readonly string[]) =>
  matchers.length === 0 ? name : `${name}{${matchers.join(', ')}}`;

/**
 * A dashboard selector: limited to the chosen instance and, for a family keyed by VM, to the chosen VMs. Families
 * without a vmid reach `$vm` through a join (`onVmQueues`, `withVmName`).
 */
export function sel(name: SeriesName, ...matchers: string[]): string {
  const scope = ['instance=~"$instance"'];
  if (labelsOf(name).includes('vmid')) scope.push('vmid=~"$vm"');
  return selector(name, [...scope, ...matchers]);
}

/** An alert selector: alert rules watch every instance. */
export const series = (name: SeriesName | 'up', ...matchers: string[]): string => selector(name, matchers);

export const rate = (selected: string, window = RATE_INTERVAL): string => `rate(${selected}[${window}])`;
export const increase = (selected: string, window = RATE_INTERVAL): string => `increase(${selected}[${window}])`;
export const sumBy = (by: string, expr: string): string => `sum by (${by}) (${expr})`;

/**
 * part / whole per group, where `part` is a subset of `whole` (errors of all requests). A group with traffic but no
 * matching part gives 0 rather than no series, so the expression has data on a healthy system.
 */
export const share = (by: string, part: string, whole: string): string =>
  `(${sumBy(by, part)} or ${sumBy(by, whole)} * 0) / ${sumBy(by, whole)}`;

/** The q-quantile of a histogram over the rate window, per group of the `by` labels. */
export const quantile = (q: number, histogram: HistogramName, ...by: string[]): string =>
  `histogram_quantile(${q}, ${sumBy(['le', ...by].join(', '), rate(sel(`${histogram}_bucket`)))})`;

/**
 * Message-queue series carry no vmid: keep the queues with either end in `$vm`, and label them with the queue's
 * ends. `perQueue` must keep the `instance` and `msgq` labels.
 */
export const onVmQueues = (perQueue: string, ends = ['sender_vmid', 'receiver_vmid']): string =>
  `(${perQueue}) * on (instance, msgq) group_left (${ends.join(', ')}) ` +
  `(${sel('gunyah_msgq_info', 'sender_vmid=~"$vm"')} or ${sel('gunyah_msgq_info', 'receiver_vmid=~"$vm"')})`;

/**
 * Adds the VM's name to per-VM series (for legends and alert text); `perVm` must keep the `instance` and `vmid`
 * labels. Dashboards join the VMs in scope; alert rules pass `series('gunyah_vm_info')`.
 */
export const withVmName = (perVm: string, vmInfo = sel('gunyah_vm_info')): string =>
  `(${perVm}) * on (instance, vmid) group_left (name) ${vmInfo}`;
