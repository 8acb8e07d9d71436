// Per-VM detail: state, vCPUs, hypercall and RM load, console.

import { dashboard, stat, stateTimeline, timeseries } from '../panels.js';
import { rate, sel, withVmName } from '../promql.js';
import { OS_STATUS_MAPPINGS, VCPU_STATE_MAPPINGS, VM_STATUS_MAPPINGS } from './states.js';

const byVm = '{{name}} ({{vmid}})';
const byVcpu = '{{name}} vCPU {{vcpu}}';

export const vm = dashboard({
  uid: 'gunyah-vm',
  title: 'Gunyah / VMs',
  description: 'The selected VMs: status, vCPUs, hypercalls, RM requests and consoles.',
  rows: [
    {
      title: 'State',
      panels: [
        stateTimeline({
          title: 'VM status',
          description: 'vm_status (spec §9.5).',
          unit: 'none',
          mappings: VM_STATUS_MAPPINGS,
          targets: [{ expr: withVmName(sel('gunyah_vm_status')), legend: byVm }],
        }),
        stateTimeline({
          title: 'Guest OS status',
          description: 'os_status the guest reported with VM_SET_STATUS (spec §9.5).',
          unit: 'none',
          mappings: OS_STATUS_MAPPINGS,
          targets: [{ expr: withVmName(sel('gunyah_vm_os_status')), legend: byVm }],
        }),
        stat({
          title: 'Guest memory',
          description: 'Guest memory of each VM.',
          unit: 'bytes',
          w: 12,
          targets: [{ expr: withVmName(sel('gunyah_vm_memory_bytes')), legend: byVm }],
        }),
        stat({
          title: 'vCPUs',
          description: 'vCPUs of each VM.',
          unit: 'short',
          w: 12,
          targets: [{ expr: withVmName(`count by (instance, vmid) (${sel('gunyah_vcpu_state')})`), legend: byVm }],
        }),
      ],
    },
    {
      title: 'vCPUs',
      panels: [
        stateTimeline({
          title: 'vCPU state',
          description: 'What each vCPU is doing: running, ready, waiting for an interrupt (WFI), blocked, faulted or off.',
          unit: 'none',
          w: 24,
          h: 10,
          mappings: VCPU_STATE_MAPPINGS,
          targets: [{ expr: withVmName(sel('gunyah_vcpu_state')), legend: byVcpu }],
        }),
        timeseries({
          title: 'vCPU run time',
          description: 'Share of wall time each vCPU ran guest code.',
          unit: 'percentunit',
          targets: [{ expr: withVmName(rate(sel('gunyah_vcpu_run_seconds_total'))), legend: byVcpu }],
        }),
        timeseries({
          title: 'vCPU wake-ups',
          description: 'Wake-ups per second from WFI or suspend.',
          unit: 'cps',
          targets: [{ expr: withVmName(rate(sel('gunyah_vcpu_wakeups_total'))), legend: byVcpu }],
        }),
      ],
    },
    {
      title: 'Hypercalls and RM RPC',
      panels: [
        timeseries({
          title: 'Hypercalls',
          description: 'Hypercalls and SMCCC calls per second made by the VM\'s vCPUs.',
          unit: 'ops',
          w: 8,
          targets: [{ expr: withVmName(rate(sel('gunyah_vm_hypercalls_total'))), legend: byVm }],
        }),
        timeseries({
          title: 'RM requests',
          description: 'RM RPC requests per second the RM received from the VM.',
          unit: 'reqps',
          w: 8,
          targets: [{ expr: withVmName(rate(sel('gunyah_rm_rpc_vm_requests_total'))), legend: byVm }],
        }),
        timeseries({
          title: 'Pending RM notifications',
          description: 'Notifications the RM holds because the VM\'s RM queue is full (spec §9.1).',
          unit: 'short',
          w: 8,
          targets: [{ expr: withVmName(sel('gunyah_rm_pending_notifications')), legend: byVm }],
        }),
      ],
    },
    {
      title: 'Console',
      panels: [
        timeseries({
          title: 'Console throughput',
          description: 'Console bytes per second: out (guest to HLOS) and in (typed into the VM).',
          unit: 'Bps',
          w: 8,
          targets: [{ expr: withVmName(rate(sel('gunyah_console_bytes_total'))), legend: '{{name}} {{direction}}' }],
        }),
        timeseries({
          title: 'Console bytes dropped',
          description: 'Console bytes per second skipped by HTTP readers too slow to keep up.',
          unit: 'Bps',
          w: 8,
          targets: [{ expr: withVmName(rate(sel('gunyah_console_dropped_bytes_total'))), legend: byVm }],
        }),
        timeseries({
          title: 'Console readers',
          description: 'HTTP and WebSocket clients reading the console.',
          unit: 'short',
          w: 8,
          targets: [{ expr: withVmName(sel('gunyah_console_readers')), legend: byVm }],
        }),
      ],
    },
  ],
});
