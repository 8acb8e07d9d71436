// Prometheus alerting rules for gunyahd, as data. Each rule is `(value) threshold`: `value` is what the rule
// measures and returns one series per watched subject (instance, VM, queue, message) on a healthy daemon too, so
// the end-to-end test can evaluate it and require data; `threshold` is the firing condition.

import { stringify } from 'yaml';
import { GH_ERROR, ghErrorName } from '../core/abi/errors.js';
import { OS_STATUS, VM_STATUS } from '../core/abi/rm.js';
import { HYPERCALL_OK, RM_OK, increase, rate, series, share, sumBy, withVmName } from './promql.js';

/** The scrape job of grafana/prometheus.yml; `up` is watched under this name. */
export const SCRAPE_JOB = 'gunyah';

/** Alert rules look at the last five minutes: long enough for several scrapes, short enough to clear soon. */
const WINDOW = '5m';

/** Hypercall results that are flow control, not failures: a guest polls an empty queue or backs off a full one. */
const FLOW_CONTROL = [GH_ERROR.MSGQUEUE_EMPTY, GH_ERROR.MSGQUEUE_FULL, GH_ERROR.RETRY].map(ghErrorName);

export interface AlertRule {
  readonly alert: string;
  /** What is measured; one series per subject even when all is well. */
  readonly value: string;
  /** The firing condition applied to `value`, e.g. `> 0.05`. */
  readonly threshold: string;
  readonly for: string;
  readonly severity: 'critical' | 'warning';
  readonly summary: string;
  readonly description: string;
}

/** The rule's PromQL expression. */
export const ruleExpr = (rule: AlertRule): string => `(${rule.value}) ${rule.threshold}`;

const vmName = (perVm: string) => withVmName(perVm, series('gunyah_vm_info'));

export const ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'GunyahDaemonDown',
    value: series('up', `job="${SCRAPE_JOB}"`),
    threshold: '== 0',
    for: '1m',
    severity: 'critical',
    summary: 'gunyahd {{ $labels.instance }} is down',
    description: 'Prometheus has not scraped {{ $labels.instance }} (job {{ $labels.job }}) successfully for a minute.',
  },
  {
    alert: 'GunyahRmRpcErrors',
    value: share(
      'instance, message',
      rate(series('gunyah_rm_rpc_requests_total', `result!="${RM_OK}"`), WINDOW),
      rate(series('gunyah_rm_rpc_requests_total'), WINDOW),
    ),
    threshold: '> 0.05',
    for: '2m',
    severity: 'warning',
    summary: 'RM RPC {{ $labels.message }} fails on {{ $labels.instance }}',
    description: `{{ $value | humanizePercentage }} of the {{ $labels.message }} requests answered by the RM of {{ $labels.instance }} in the last ${WINDOW} were not ${RM_OK}.`,
  },
  {
    alert: 'GunyahRmRpcTimeouts',
    value: sumBy('instance, message', increase(series('gunyah_rm_rpc_timeouts_total'), WINDOW)),
    threshold: '> 0',
    for: '1m',
    severity: 'critical',
    summary: 'The RM of {{ $labels.instance }} does not answer {{ $labels.message }}',
    description: `The HLOS driver of {{ $labels.instance }} gave up waiting for {{ $value }} {{ $labels.message }} replies in the last ${WINDOW}.`,
  },
  {
    alert: 'GunyahMsgqStuckFull',
    value:
      `(${series('gunyah_msgq_depth')} / ${series('gunyah_msgq_capacity')}) * on (instance, msgq) ` +
      `group_left (sender_vmid, receiver_vmid) ${series('gunyah_msgq_info')}`,
    threshold: '>= 1',
    for: '5m',
    severity: 'warning',
    summary: 'Message queue {{ $labels.msgq }} on {{ $labels.instance }} is stuck full',
    description:
      'Message queue {{ $labels.msgq }} from VM {{ $labels.sender_vmid }} to VM {{ $labels.receiver_vmid }} on ' +
      '{{ $labels.instance }} has been full for 5 minutes: its receiver does not drain it and sends fail with ERROR_MSGQUEUE_FULL.',
  },
  {
    // A crash is the guest's own CRASHED report, or an EXITED VM the HLOS did not stop. Stopping a VM is the
    // user's acknowledgement, so it silences both.
    alert: 'GunyahVmCrashed',
    value: vmName(
      `((${series('gunyah_vm_os_status')} == bool ${OS_STATUS.CRASHED}) + ` +
        `(${series('gunyah_vm_status')} == bool ${VM_STATUS.EXITED})) * ` +
        `(${series('gunyah_vm_stop_requested')} == bool 0)`,
    ),
    threshold: '> 0',
    for: '1m',
    severity: 'critical',
    summary: 'VM {{ $labels.name }} ({{ $labels.vmid }}) on {{ $labels.instance }} crashed',
    description:
      'VM {{ $labels.name }} ({{ $labels.vmid }}) on {{ $labels.instance }} reported os_status CRASHED or exited ' +
      'without being stopped (spec §9.5).',
  },
  {
    alert: 'GunyahConsoleBytesDropped',
    value: vmName(sumBy('instance, vmid', increase(series('gunyah_console_dropped_bytes_total'), WINDOW))),
    threshold: '> 0',
    for: '5m',
    severity: 'warning',
    summary: 'Console readers of VM {{ $labels.name }} on {{ $labels.instance }} are losing output',
    description: `HTTP readers of the console of VM {{ $labels.name }} ({{ $labels.vmid }}) skipped {{ $value }} bytes in the last ${WINDOW}: they read slower than the guest writes.`,
  },
  {
    alert: 'GunyahHypercallErrorRatioHigh',
    value: share(
      'instance',
      rate(series('gunyah_hypercalls_total', `result!~"${[HYPERCALL_OK, ...FLOW_CONTROL].join('|')}"`), WINDOW),
      rate(series('gunyah_hypercalls_total'), WINDOW),
    ),
    threshold: '> 0.05',
    for: '10m',
    severity: 'warning',
    summary: 'Many hypercalls fail on {{ $labels.instance }}',
    description: `{{ $value | humanizePercentage }} of the hypercalls on {{ $labels.instance }} failed in the last ${WINDOW} (${FLOW_CONTROL.join(', ')} not counted). The Hypercalls dashboard shows which calls and errors.`,
  },
];

/** The rules file Prometheus loads (grafana/alerts/gunyah.rules.yml). */
export function renderRules(): string {
  const rules = ALERT_RULES.map((rule) => ({
    alert: rule.alert,
    expr: ruleExpr(rule),
    for: rule.for,
    labels: { severity: rule.severity },
    annotations: { summary: rule.summary, description: rule.description },
  }));
  const header = '# Generated by grafana/generate.ts from grafana/alerts.ts: edit those, then regenerate.\n';
  return header + stringify({ groups: [{ name: 'gunyah', rules }] }, { lineWidth: 0 });
}
