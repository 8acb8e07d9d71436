// Resource Manager RPC (spec §9): what is asked, how it is answered, how long the HLOS driver waits.

import { dashboard, table, timeseries } from '../panels.js';
import { RM_OK, quantile, rate, sel, share, sumBy, withVmName } from '../promql.js';

const requests = sel('gunyah_rm_rpc_requests_total');

export const rmRpc = dashboard({
  uid: 'gunyah-rm-rpc',
  title: 'Gunyah / RM RPC',
  description: 'Requests the Resource Manager answered, their errors, the HLOS driver\'s latency and RM notifications.',
  rows: [
    {
      title: 'Requests',
      panels: [
        timeseries({
          title: 'Requests by message',
          description: 'Requests per second the RM answered, by message (spec §9.4).',
          unit: 'reqps',
          targets: [{ expr: sumBy('message', rate(requests)), legend: '{{message}}' }],
        }),
        timeseries({
          title: 'Replies by result',
          description: 'Replies per second by RM error (spec §3.3).',
          unit: 'reqps',
          stacked: true,
          colors: { [RM_OK]: 'green' },
          targets: [{ expr: sumBy('result', rate(requests)), legend: '{{result}}' }],
        }),
        timeseries({
          title: 'Error ratio by message',
          description: `Share of each message's replies that were not ${RM_OK}.`,
          unit: 'percentunit',
          max: 1,
          targets: [
            {
              expr: share('message', rate(sel('gunyah_rm_rpc_requests_total', `result!="${RM_OK}"`)), rate(requests)),
              legend: '{{message}}',
            },
          ],
        }),
        table({
          title: 'Replies by message and result',
          description: 'Replies per second now, for each message and RM error.',
          unit: 'reqps',
          valueColumn: 'replies/s',
          targets: [{ expr: sumBy('message, result', rate(requests)), table: true }],
        }),
      ],
    },
    {
      title: 'HLOS driver latency',
      panels: [
        timeseries({
          title: 'Latency p50 by message',
          description: 'Median round trip from the first fragment sent to the whole reply received.',
          unit: 's',
          targets: [{ expr: quantile(0.5, 'gunyah_rm_rpc_duration_seconds', 'message'), legend: '{{message}}' }],
        }),
        timeseries({
          title: 'Latency p99 by message',
          description: '99th percentile round trip from the first fragment sent to the whole reply received.',
          unit: 's',
          targets: [{ expr: quantile(0.99, 'gunyah_rm_rpc_duration_seconds', 'message'), legend: '{{message}}' }],
        }),
        timeseries({
          title: 'Mean latency by message',
          description: 'Mean round trip over the rate window.',
          unit: 's',
          targets: [
            {
              expr:
                `${sumBy('message', rate(sel('gunyah_rm_rpc_duration_seconds_sum')))} / ` +
                sumBy('message', rate(sel('gunyah_rm_rpc_duration_seconds_count'))),
              legend: '{{message}}',
            },
          ],
        }),
        timeseries({
          title: 'Timeouts by message',
          description: 'Requests per second the HLOS driver gave up waiting for.',
          unit: 'reqps',
          targets: [{ expr: sumBy('message', rate(sel('gunyah_rm_rpc_timeouts_total'))), legend: '{{message}}' }],
        }),
      ],
    },
    {
      title: 'Notifications and clients',
      panels: [
        timeseries({
          title: 'Notifications by type',
          description: 'Notifications per second the RM sent (spec §9.4).',
          unit: 'mps',
          w: 8,
          targets: [{ expr: sumBy('notification', rate(sel('gunyah_rm_notifications_total'))), legend: '{{notification}}' }],
        }),
        timeseries({
          title: 'Pending notifications by VM',
          description: 'Notifications held while the VM\'s RM queue is full (spec §9.1).',
          unit: 'short',
          w: 8,
          targets: [{ expr: withVmName(sel('gunyah_rm_pending_notifications')), legend: '{{name}} ({{vmid}})' }],
        }),
        timeseries({
          title: 'Requests by VM',
          description: 'Requests per second the RM received from each selected VM.',
          unit: 'reqps',
          w: 8,
          targets: [{ expr: withVmName(rate(sel('gunyah_rm_rpc_vm_requests_total'))), legend: '{{name}} ({{vmid}})' }],
        }),
      ],
    },
  ],
});
