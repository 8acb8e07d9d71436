// The telemetry catalogue: every metric family `GET /metrics` serves, as data. It is the contract between the
// collectors (server/metrics) and everything that reads them (grafana/ dashboards and alert rules import it, so a
// renamed family breaks their build).
//
// Label conventions, the same in every family:
// - vmid, sender_vmid, receiver_vmid: the VMID in decimal (spec §13.1): "3" the HLOS, "255" the RM, "128" the first
//   dynamic VM. The same numbers name the sysfs VM directories.
// - msgq, doorbell: the object's emulator-wide id in decimal, as the REST API and sysfs name it.
// - vcpu: the vCPU index within its VM, in decimal.
// - Every other label takes the closed set of values listed in `values`, or (method, route, status, type, version,
//   name, image, max_msg_size) one value per route, event type, build or VM. Never user text beyond the VM name,
//   which only `gunyah_vm_info` carries (one series per VM).

import { GH_ERROR_CODES, ghErrorName } from '../../core/abi/errors.js';
import { HYPERCALLS } from '../../core/abi/hypercalls.js';
import { OS_STATUS, RM_ERROR, RM_MSG, RM_NOTIF, RM_RPC, VM_STATUS, rmErrorName } from '../../core/abi/rm.js';
import { SMCCC_CALL } from '../../core/abi/smccc.js';

/** `info`: a gauge whose value is always 1 and whose labels carry the information (Prometheus `_info` convention). */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'info';

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  /** One sentence naming what is counted or measured and its unit. */
  readonly help: string;
  readonly labels: readonly string[];
  /** The closed value set of enumerated labels. */
  readonly values?: Readonly<Record<string, readonly string[]>>;
  /** Histogram bucket upper bounds, in the family's base unit. */
  readonly buckets?: readonly number[];
}

/** The `call` of a function ID that is neither a hypercall nor an SMCCC service Gunyah answers. */
export const UNKNOWN_CALL = 'unknown';
/** The `message` of an RM request whose message ID is not in spec §9.4 (answered RM_ERROR_UNIMPLEMENTED). */
export const UNKNOWN_RM_MESSAGE = 'UNKNOWN';

const HYPERCALL_CALLS = [...HYPERCALLS.map((c) => c.name), ...Object.keys(SMCCC_CALL), UNKNOWN_CALL];
const HYPERCALL_RESULTS = GH_ERROR_CODES.map(ghErrorName);
const RM_MESSAGES = [...Object.keys(RM_MSG), UNKNOWN_RM_MESSAGE];
const RM_RESULTS = Object.values(RM_ERROR).map(rmErrorName);
/** "0 NO_STATE, 1 INIT, ...": the numbers a state gauge takes, for its help text. */
const numbering = (states: Readonly<Record<string, number>>) =>
  Object.entries(states).map(([name, n]) => `${n} ${name}`).join(', ');

/** vCPU states as `gunyah_vcpu_state` encodes them (the emulator's scheduler states, not a Gunyah ABI value). */
export const VCPU_STATE = {
  powered_off: 0,
  ready: 1,
  running: 2,
  /** Waiting in WFI or a PSCI suspend (spec §6.2 EXPECTS_WAKEUP). */
  expects_wakeup: 3,
  blocked: 4,
  fault: 5,
} as const;
export type VcpuStateName = keyof typeof VCPU_STATE;

/** RM RPC round trips are microseconds in the emulator; the top buckets catch a stalled RM. */
export const RM_RPC_DURATION_BUCKETS = [
  5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
] as const;

export const HTTP_DURATION_BUCKETS = [
  1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

export const METRIC_FAMILIES = [
  // Hypervisor calls (spec §1.3, §3.1)
  {
    name: 'gunyah_hypercalls_total',
    type: 'counter',
    help: 'Hypercalls and SMCCC service calls completed, by call name (spec §1.3) and result (OK or ERROR_<NAME>, spec §3.1).',
    labels: ['call', 'result'],
    values: { call: HYPERCALL_CALLS, result: HYPERCALL_RESULTS },
  },
  {
    name: 'gunyah_vm_hypercalls_total',
    type: 'counter',
    help: 'Hypercalls and SMCCC service calls made by the vCPUs of each VM, all calls and results.',
    labels: ['vmid'],
  },

  // Message queues (spec §4)
  {
    name: 'gunyah_msgq_messages_total',
    type: 'counter',
    help: 'Messages accepted into (sent) and taken out of (received) each message queue (spec §4.3).',
    labels: ['msgq', 'direction'],
    values: { direction: ['sent', 'received'] },
  },
  {
    name: 'gunyah_msgq_bytes_total',
    type: 'counter',
    help: 'Payload bytes of the messages sent into and received from each message queue, in bytes.',
    labels: ['msgq', 'direction'],
    values: { direction: ['sent', 'received'] },
  },
  {
    name: 'gunyah_msgq_depth',
    type: 'gauge',
    help: 'Messages queued now in each message queue, waiting to be received.',
    labels: ['msgq'],
  },
  {
    name: 'gunyah_msgq_capacity',
    type: 'gauge',
    help: 'Queue depth each message queue was configured with (spec §4.2): the most messages it holds.',
    labels: ['msgq'],
  },
  {
    name: 'gunyah_msgq_full_total',
    type: 'counter',
    help: 'Sends refused with ERROR_MSGQUEUE_FULL because the message queue was full (spec §4.3).',
    labels: ['msgq'],
  },
  {
    name: 'gunyah_msgq_info',
    type: 'info',
    help: 'Message queue ends (sending and receiving VMID) and maximum message size in bytes (spec §4.2); always 1.',
    labels: ['msgq', 'sender_vmid', 'receiver_vmid', 'max_msg_size'],
  },

  // Doorbells (spec §5)
  {
    name: 'gunyah_doorbell_sends_total',
    type: 'counter',
    help: 'Successful doorbell_send calls, by doorbell and sending VM (spec §5).',
    labels: ['doorbell', 'vmid'],
  },
  {
    name: 'gunyah_doorbell_flags',
    type: 'gauge',
    help: 'Flags pending on each doorbell now, by doorbell and receiving VM, as a number (exact up to bit 52).',
    labels: ['doorbell', 'vmid'],
  },

  // Resource Manager RPC (spec §9)
  {
    name: 'gunyah_rm_rpc_requests_total',
    type: 'counter',
    help: 'RM RPC requests the RM answered, by message (spec §9.4) and reply error (RM_OK or RM_ERROR_<NAME>, spec §3.3).',
    labels: ['message', 'result'],
    values: { message: RM_MESSAGES, result: RM_RESULTS },
  },
  {
    name: 'gunyah_rm_rpc_vm_requests_total',
    type: 'counter',
    help: 'RM RPC requests the RM received from each VM, all messages and results.',
    labels: ['vmid'],
  },
  {
    name: 'gunyah_rm_rpc_duration_seconds',
    type: 'histogram',
    help: 'Round trip of the RM RPC requests of the HLOS driver, from sending the first fragment to receiving the whole reply, in seconds.',
    labels: ['message'],
    values: { message: RM_MESSAGES },
    buckets: RM_RPC_DURATION_BUCKETS,
  },
  {
    name: 'gunyah_rm_rpc_timeouts_total',
    type: 'counter',
    help: 'RM RPC requests of the HLOS driver that got no reply before the driver gave up, by message.',
    labels: ['message'],
    values: { message: RM_MESSAGES },
  },
  {
    name: 'gunyah_rm_notifications_total',
    type: 'counter',
    help: 'Notifications the RM sent to its clients, by notification (spec §9.4).',
    labels: ['notification'],
    values: { notification: Object.keys(RM_NOTIF) },
  },
  {
    name: 'gunyah_rm_pending_notifications',
    type: 'gauge',
    help: `Notifications the RM holds for each VM while its RM queue is full (at most ${RM_RPC.MAX_PENDING_NOTIFICATIONS}, spec §9.1).`,
    labels: ['vmid'],
  },

  // Consoles (spec §10)
  {
    name: 'gunyah_console_bytes_total',
    type: 'counter',
    help: 'Console bytes of each VM, out (written by the guest, towards the HLOS) and in (typed into the VM), in bytes.',
    labels: ['vmid', 'direction'],
    values: { direction: ['out', 'in'] },
  },
  {
    name: 'gunyah_console_dropped_bytes_total',
    type: 'counter',
    help: 'Console output bytes skipped by slow HTTP readers of each VM (summed over readers), in bytes.',
    labels: ['vmid'],
  },
  {
    name: 'gunyah_console_readers',
    type: 'gauge',
    help: 'HTTP and WebSocket clients reading the console of each VM now.',
    labels: ['vmid'],
  },

  // VMs and vCPUs (spec §6, §9.5)
  {
    name: 'gunyah_vm_info',
    type: 'info',
    help: 'Each VM: name, type and guest image (empty for the RM and the HLOS); always 1.',
    labels: ['vmid', 'name', 'type', 'image'],
    values: { type: ['rm', 'primary', 'secondary'] },
  },
  {
    name: 'gunyah_vm_status',
    type: 'gauge',
    help: `vm_status of each VM, numbered as spec §9.5: ${numbering(VM_STATUS)}.`,
    labels: ['vmid'],
  },
  {
    name: 'gunyah_vm_os_status',
    type: 'gauge',
    help: `os_status of each VM, numbered as spec §9.5: ${numbering(OS_STATUS)}.`,
    labels: ['vmid'],
  },
  {
    name: 'gunyah_vm_stop_requested',
    type: 'gauge',
    help: 'Whether the HLOS asked the RM to stop the VM (VM_STOP) since it was last started: 1 yes, 0 no.',
    labels: ['vmid'],
  },
  {
    name: 'gunyah_vm_memory_bytes',
    type: 'gauge',
    help: 'Guest memory of each VM, in bytes.',
    labels: ['vmid'],
  },
  {
    name: 'gunyah_vms',
    type: 'gauge',
    help: 'VMs that exist now, the RM and the HLOS included.',
    labels: [],
  },
  {
    name: 'gunyah_vcpu_state',
    type: 'gauge',
    help: `State of each vCPU: ${numbering(VCPU_STATE)}.`,
    labels: ['vmid', 'vcpu'],
  },
  {
    name: 'gunyah_vcpu_run_seconds_total',
    type: 'counter',
    help: 'Time each vCPU spent running guest code, in seconds.',
    labels: ['vmid', 'vcpu'],
  },
  {
    name: 'gunyah_vcpu_wakeups_total',
    type: 'counter',
    help: 'Times each vCPU was woken from expects_wakeup (WFI or suspend) by an interrupt or a power-on.',
    labels: ['vmid', 'vcpu'],
  },

  // The daemon
  {
    name: 'gunyah_events_total',
    type: 'counter',
    help: 'Events published on the event stream (GET /v1/events), by event type.',
    labels: ['type'],
  },
  {
    name: 'gunyah_http_requests_total',
    type: 'counter',
    help: 'HTTP requests answered, by method, route pattern and status code; streams count once when they open.',
    labels: ['method', 'route', 'status'],
  },
  {
    name: 'gunyah_http_request_duration_seconds',
    type: 'histogram',
    help: 'Time to answer each HTTP request, from its arrival to its answer being sent, by method and route pattern, '
      + 'in seconds; streams and requests refused before routing are not observed.',
    labels: ['method', 'route'],
    buckets: HTTP_DURATION_BUCKETS,
  },
  {
    name: 'gunyah_build_info',
    type: 'info',
    help: 'The running gunyahd build: version from package.json; always 1.',
    labels: ['version'],
  },
] as const satisfies readonly MetricFamily[];

export type GunyahFamily = (typeof METRIC_FAMILIES)[number];
export type MetricName = GunyahFamily['name'];
export type HistogramName = Extract<GunyahFamily, { type: 'histogram' }>['name'];

/** Each family by name, e.g. `FAMILY.gunyah_vm_info.labels`. */
export const FAMILY = Object.fromEntries(METRIC_FAMILIES.map((f) => [f.name, f])) as {
  readonly [N in MetricName]: Extract<GunyahFamily, { name: N }>;
};

/**
 * prom-client's default metrics (`collectDefaultMetrics`) that the dashboards read. They come with prom-client and
 * are not declared above.
 */
export const DEFAULT_METRICS_USED = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_p99_seconds',
] as const;
export type DefaultMetricName = (typeof DEFAULT_METRICS_USED)[number];

/**
 * prom-client default metrics to remove after `collectDefaultMetrics` (`registry.removeSingleMetric(name)`): gauges
 * named `_total`, which make `promtool check metrics` fail (exit 3) on prom-client 15.1.3.
 */
export const DEFAULT_METRICS_REMOVED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;
