// The first dashboard an operator opens: one device at a glance, its VMs, its traffic and the daemon itself.

import { OS_STATUS, VM_STATUS } from '../../core/abi/rm.js';
import { dashboard, stat, stateTimeline, timeseries } from '../panels.js';
import { HYPERCALL_OK, RM_OK, onVmQueues, quantile, rate, sel, sumBy, withVmName } from '../promql.js';
import { OS_STATUS_MAPPINGS, VM_STATUS_MAPPINGS } from './states.js';

export const overview = dashboard({
  uid: 'gunyah-overview',
  title: 'Gunyah / Overview',
  description: 'One emulated Gunyah device: VMs, hypervisor and RM traffic, consoles and the gunyahd process.',
  rows: [
    {
      title: 'Device',
      panels: [
        stat({
          title: 'Version',
          description: 'gunyahd version (gunyah_build_info).',
          unit: 'none',
          showName: true,
          targets: [{ expr: sel('gunyah_build_info'), legend: '{{version}}' }],
        }),
        stat({
          title: 'Uptime',
          description: 'Time since gunyahd started.',
          unit: 's',
          targets: [{ expr: `time() - ${sel('process_start_time_seconds')}`, legend: 'uptime' }],
        }),
        stat({
          title: 'VMs',
          description: 'VMs that exist, the RM and the HLOS included.',
          unit: 'short',
          targets: [{ expr: sel('gunyah_vms'), legend: 'VMs' }],
        }),
        stat({
          title: 'Running VMs',
          description: 'Selected VMs whose vm_status is RUNNING (spec §9.5).',
          unit: 'short',
          targets: [{ expr: `sum(${sel('gunyah_vm_status')} == bool ${VM_STATUS.RUNNING})`, legend: 'running' }],
        }),
        stat({
          title: 'Crashed VMs',
          description: 'Selected VMs whose guest reported os_status CRASHED (spec §9.5).',
          unit: 'short',
          targets: [{ expr: `sum(${sel('gunyah_vm_os_status')} == bool ${OS_STATUS.CRASHED})`, legend: 'crashed' }],
        }),
        stat({
          title: 'Hypercalls',
          description: 'Hypercalls and SMCCC calls per second, all VMs.',
          unit: 'ops',
          targets: [{ expr: `sum(${rate(sel('gunyah_hypercalls_total'))})`, legend: 'hypercalls' }],
        }),
      ],
    },
    {
      title: 'Virtual machines',
      panels: [
        stateTimeline({
          title: 'VM status',
          description: 'vm_status of each selected VM (spec §9.5).',
          unit: 'none',
          mappings: VM_STATUS_MAPPINGS,
          targets: [{ expr: withVmName(sel('gunyah_vm_status')), legend: '{{name}} ({{vmid}})' }],
        }),
        stateTimeline({
          title: 'Guest OS status',
          description: 'os_status each selected guest reported with VM_SET_STATUS (spec §9.5).',
          unit: 'none',
          mappings: OS_STATUS_MAPPINGS,
          targets: [{ expr: withVmName(sel('gunyah_vm_os_status')), legend: '{{name}} ({{vmid}})' }],
        }),
      ],
    },
    {
      title: 'Traffic',
      panels: [
        timeseries({
          title: 'Hypercalls by result',
          description: 'Hypercalls per second by result (spec §3.1). Details on the Hypercalls dashboard.',
          unit: 'ops',
          w: 8,
          stacked: true,
          colors: { [HYPERCALL_OK]: 'green' },
          targets: [{ expr: sumBy('result', rate(sel('gunyah_hypercalls_total'))), legend: '{{result}}' }],
        }),
        timeseries({
          title: 'RM RPC requests by result',
          description: 'Requests the RM answered per second, by reply error (spec §3.3). Details on the RM RPC dashboard.',
          unit: 'reqps',
          w: 8,
          stacked: true,
          colors: { [RM_OK]: 'green' },
          targets: [{ expr: sumBy('result', rate(sel('gunyah_rm_rpc_requests_total'))), legend: '{{result}}' }],
        }),
        timeseries({
          title: 'RM RPC latency',
          description: 'Median and 99th percentile round trip of the HLOS driver\'s RM requests.',
          unit: 's',
          w: 8,
          targets: [
            { expr: quantile(0.5, 'gunyah_rm_rpc_duration_seconds'), legend: 'p50' },
            { expr: quantile(0.99, 'gunyah_rm_rpc_duration_seconds'), legend: 'p99' },
          ],
        }),
        timeseries({
          title: 'Message-queue throughput',
          description: 'Payload bytes per second through the message queues with an end in the selected VMs.',
          unit: 'Bps',
          w: 8,
          targets: [
            { expr: sumBy('direction', onVmQueues(rate(sel('gunyah_msgq_bytes_total')))), legend: '{{direction}}' },
          ],
        }),
        timeseries({
          title: 'Console throughput',
          description: 'Console bytes per second of the selected VMs: out (guest to HLOS) and in (typed into the VM).',
          unit: 'Bps',
          w: 8,
          targets: [{ expr: sumBy('direction', rate(sel('gunyah_console_bytes_total'))), legend: '{{direction}}' }],
        }),
        timeseries({
          title: 'vCPU time by VM',
          description: 'Share of wall time the vCPUs of each selected VM ran guest code (1 = one CPU busy).',
          unit: 'percentunit',
          w: 8,
          targets: [
            {
              expr: withVmName(sumBy('instance, vmid', rate(sel('gunyah_vcpu_run_seconds_total')))),
              legend: '{{name}}',
            },
          ],
        }),
      ],
    },
    {
      title: 'gunyahd',
      panels: [
        timeseries({
          title: 'CPU',
          description: 'CPU time gunyahd used per second (1 = one core).',
          unit: 'percentunit',
          w: 8,
          targets: [{ expr: rate(sel('process_cpu_seconds_total')), legend: 'cpu' }],
        }),
        timeseries({
          title: 'Memory',
          description: 'Resident memory and used V8 heap of gunyahd.',
          unit: 'bytes',
          w: 8,
          targets: [
            { expr: sel('process_resident_memory_bytes'), legend: 'resident' },
            { expr: sel('nodejs_heap_size_used_bytes'), legend: 'heap used' },
          ],
        }),
        timeseries({
          title: 'Event loop lag p99',
          description: 'The 99th percentile event loop delay: how long a ready request or vCPU may wait.',
          unit: 's',
          w: 8,
          targets: [{ expr: sel('nodejs_eventloop_lag_p99_seconds'), legend: 'p99' }],
        }),
        timeseries({
          title: 'HTTP requests',
          description: 'HTTP requests per second by method, route and status.',
          unit: 'reqps',
          w: 8,
          targets: [
            {
              expr: sumBy('method, route, status', rate(sel('gunyah_http_requests_total'))),
              legend: '{{method}} {{route}} {{status}}',
            },
          ],
        }),
        timeseries({
          title: 'HTTP latency p99',
          description: '99th percentile time to answer, by method and route (streams are not measured).',
          unit: 's',
          w: 8,
          targets: [
            { expr: quantile(0.99, 'gunyah_http_request_duration_seconds', 'method', 'route'), legend: '{{method}} {{route}}' },
          ],
        }),
        timeseries({
          title: 'Events published',
          description: 'Events per second published on GET /v1/events, by type.',
          unit: 'eps',
          w: 8,
          targets: [{ expr: sumBy('type', rate(sel('gunyah_events_total'))), legend: '{{type}}' }],
        }),
      ],
    },
  ],
});
