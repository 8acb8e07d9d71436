// gunyah/rm/: the Resource Manager's own counters (core/rm/rm-stats.ts) and each RPC client's link (spec §9.1):
// requests answered by message and RM result, notifications sent and dropped, drops by reason, and per client the
// notifications waiting for room in its queue.
import { RM_DROP_REASONS, RM_STAT_MESSAGES, RM_STAT_NOTIFICATIONS, RM_STAT_RESULTS } from '../../core/rm/rm-stats.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';
import type { RpcEndpoint } from '../../core/rm/rpc-endpoint.js';
import { dir, dynamicDir, value, type DirNode } from '../tree.js';
import { counterTableDir, countersDir } from './counters.js';
import { decimalName } from './format.js';

function clientDir(endpoint: RpcEndpoint): DirNode {
  return dir({
    pending_notifications: value(() => endpoint.pendingNotifications),
    pending_reply: value(() => (endpoint.hasPendingReply ? 1 : 0)),
    // Complete messages reassembled from the client's queue: its requests (anything else is dropped, spec §9.2).
    requests: value(() => endpoint.rxStats.messages),
    tx_waits: value(() => endpoint.txWaits),
  });
}

export function rmDir(rm: ResourceManager): DirNode {
  const endpointOf = (vmid: number | undefined) => (vmid === undefined ? null : rm.lookup(vmid)?.endpoint ?? null);
  const notificationDir = (i: number) => dir({
    sent: value(() => rm.stats.notificationsSent[i]!),
    dropped: value(() => rm.stats.notificationsDropped[i]!),
  });
  return dir({
    clients: dynamicDir(
      function* () {
        for (const [vmid, rvm] of [...rm.vms].sort(([a], [b]) => a - b)) if (rvm.endpoint !== null) yield vmid;
      },
      (name) => {
        const endpoint = endpointOf(decimalName(name));
        return endpoint === null ? undefined : clientDir(endpoint);
      },
    ),
    requests: counterTableDir({
      rows: RM_STAT_MESSAGES,
      columns: RM_STAT_RESULTS,
      count: (msg, result) => rm.stats.requests[msg * RM_STAT_RESULTS.length + result]!,
    }),
    notifications: dir(Object.fromEntries(RM_STAT_NOTIFICATIONS.map((name, i) => [name, notificationDir(i)]))),
    drops: countersDir(RM_DROP_REASONS, (i) => rm.stats.drops[i]!),
    handler_faults: value(() => rm.stats.handlerFaults),
  });
}
