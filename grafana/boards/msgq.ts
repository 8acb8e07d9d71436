// Message queues and doorbells (spec §4, §5). Queue series carry no vmid: panels reach `$vm` through
// gunyah_msgq_info (onVmQueues).

import { dashboard, table, timeseries } from '../panels.js';
import { onVmQueues, rate, sel, withVmName } from '../promql.js';

const byQueue = 'msgq {{msgq}} {{sender_vmid}}→{{receiver_vmid}}';

export const msgq = dashboard({
  uid: 'gunyah-msgq',
  title: 'Gunyah / Message queues and doorbells',
  description: 'Message queues with an end in the selected VMs, and the doorbells they send or receive.',
  rows: [
    {
      title: 'Message queues',
      panels: [
        timeseries({
          title: 'Messages',
          description: 'Messages per second sent into and received from each queue.',
          unit: 'mps',
          targets: [{ expr: onVmQueues(rate(sel('gunyah_msgq_messages_total'))), legend: `${byQueue} {{direction}}` }],
        }),
        timeseries({
          title: 'Bytes',
          description: 'Payload bytes per second sent into and received from each queue.',
          unit: 'Bps',
          targets: [{ expr: onVmQueues(rate(sel('gunyah_msgq_bytes_total'))), legend: `${byQueue} {{direction}}` }],
        }),
        timeseries({
          title: 'Depth',
          description: 'Messages waiting in each queue.',
          unit: 'short',
          w: 8,
          targets: [{ expr: onVmQueues(sel('gunyah_msgq_depth')), legend: byQueue }],
        }),
        timeseries({
          title: 'Fill',
          description: 'Depth over capacity: 100% means the next send is refused with ERROR_MSGQUEUE_FULL.',
          unit: 'percentunit',
          w: 8,
          max: 1,
          targets: [
            { expr: onVmQueues(`${sel('gunyah_msgq_depth')} / ${sel('gunyah_msgq_capacity')}`), legend: byQueue },
          ],
        }),
        timeseries({
          title: 'Sends refused (queue full)',
          description: 'Sends per second refused with ERROR_MSGQUEUE_FULL (spec §4.3).',
          unit: 'ops',
          w: 8,
          targets: [{ expr: onVmQueues(rate(sel('gunyah_msgq_full_total'))), legend: byQueue }],
        }),
        table({
          title: 'Queues',
          description: 'Each queue\'s ends, maximum message size in bytes and capacity in messages.',
          unit: 'short',
          w: 24,
          valueColumn: 'capacity',
          targets: [
            {
              expr: onVmQueues(sel('gunyah_msgq_capacity'), ['sender_vmid', 'receiver_vmid', 'max_msg_size']),
              table: true,
            },
          ],
        }),
      ],
    },
    {
      title: 'Doorbells',
      panels: [
        timeseries({
          title: 'Doorbell sends',
          description: 'doorbell_send calls per second, by doorbell and sending VM (spec §5).',
          unit: 'ops',
          targets: [{ expr: withVmName(rate(sel('gunyah_doorbell_sends_total'))), legend: 'doorbell {{doorbell}} from {{name}}' }],
        }),
        timeseries({
          title: 'Pending doorbell flags',
          description: 'Flags set and not yet received, by doorbell and receiving VM.',
          unit: 'hex0x',
          targets: [{ expr: withVmName(sel('gunyah_doorbell_flags')), legend: 'doorbell {{doorbell}} at {{name}}' }],
        }),
      ],
    },
  ],
});
