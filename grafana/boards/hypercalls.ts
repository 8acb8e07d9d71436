// Hypercalls by call and result (spec §1.3, §3.1).

import { dashboard, table, timeseries } from '../panels.js';
import { HYPERCALL_OK, rate, sel, share, sumBy, withVmName } from '../promql.js';

const calls = sel('gunyah_hypercalls_total');

export const hypercalls = dashboard({
  uid: 'gunyah-hypercalls',
  title: 'Gunyah / Hypercalls',
  description: 'Hypercalls and SMCCC service calls by call and result.',
  rows: [
    {
      title: 'Hypercalls',
      panels: [
        timeseries({
          title: 'Calls by name',
          description: 'Calls per second by hypercall or SMCCC service name (spec §1.3).',
          unit: 'ops',
          targets: [{ expr: sumBy('call', rate(calls)), legend: '{{call}}' }],
        }),
        timeseries({
          title: 'Calls by result',
          description: 'Calls per second by result (spec §3.1).',
          unit: 'ops',
          stacked: true,
          colors: { [HYPERCALL_OK]: 'green' },
          targets: [{ expr: sumBy('result', rate(calls)), legend: '{{result}}' }],
        }),
        timeseries({
          title: 'Error ratio by call',
          description: 'Share of each call that returned an error, flow control (ERROR_MSGQUEUE_EMPTY, ERROR_MSGQUEUE_FULL) included.',
          unit: 'percentunit',
          max: 1,
          targets: [
            {
              expr: share('call', rate(sel('gunyah_hypercalls_total', `result!="${HYPERCALL_OK}"`)), rate(calls)),
              legend: '{{call}}',
            },
          ],
        }),
        timeseries({
          title: 'Calls by VM',
          description: 'Calls per second made by the vCPUs of each selected VM.',
          unit: 'ops',
          targets: [{ expr: withVmName(rate(sel('gunyah_vm_hypercalls_total'))), legend: '{{name}} ({{vmid}})' }],
        }),
        table({
          title: 'Calls by name and result',
          description: 'Calls per second now, for each call and result.',
          unit: 'ops',
          w: 24,
          h: 10,
          valueColumn: 'calls/s',
          targets: [{ expr: sumBy('call, result', rate(calls)), table: true }],
        }),
      ],
    },
  ],
});
