// The Resource Manager as /metrics sees it: its counters (RmStats), its VM records, each client's RPC endpoint and
// each VM's console. One fact the RM does not keep is followed here through its events: whether the owner asked
// for a stop since the VM last started (spec §9.4 VM_STOP: forced, the VM exits with VM_STOP_FORCED; otherwise
// the RM sends VM_SHUTDOWN), which tells the crash alert a stopped VM from a crashed one.
import { EXIT_TYPE, RM_NOTIF, VM_STATUS } from '../../core/abi/rm.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';
import { RM_STAT_MESSAGES, RM_STAT_RESULTS } from '../../core/rm/rm-stats.js';
import type { ConsoleTraffic, RmTelemetry, RmVmView } from './sources.js';

export interface RmSource extends RmTelemetry, ConsoleTraffic {
  /** Stop following the RM's events. */
  close(): void;
}

export function rmSource(rm: ResourceManager): RmSource {
  const stopRequested = new Set<number>();
  const unsubscribe = [
    rm.events.on('vm-exited', ({ vmid, exitType }) => {
      if (exitType === EXIT_TYPE.VM_STOP_FORCED) stopRequested.add(vmid);
    }),
    rm.events.on('notification', ({ to, msgId }) => {
      if (msgId === RM_NOTIF.VM_SHUTDOWN) stopRequested.add(to);
    }),
    rm.events.on('vm-status', ({ vmid, status }) => {
      if (status === VM_STATUS.RUNNING) stopRequested.delete(vmid);
    }),
    rm.events.on('vm-deallocated', ({ vmid }) => stopRequested.delete(vmid)),
  ];
  const columns = RM_STAT_RESULTS.length;
  return {
    vms: () => rm.vms.values(),
    *requests() {
      const counts = rm.stats.requests;
      for (let i = 0; i < counts.length; i++) {
        if (counts[i]! > 0) yield [RM_STAT_MESSAGES[Math.floor(i / columns)]!, RM_STAT_RESULTS[i % columns]!, counts[i]!] as const;
      }
    },
    // Complete messages the RM reassembled from the VM's queue: its requests (anything else is dropped, spec §9.2).
    vmRequests: (vmid) => rm.lookup(vmid)?.endpoint?.rxStats.messages ?? 0,
    notifications: (notification) => rm.stats.sent(notification),
    pendingNotifications: (vmid) => rm.lookup(vmid)?.endpoint?.pendingNotifications ?? 0,
    vm(vmid): RmVmView | undefined {
      const rvm = rm.lookup(vmid);
      if (rvm === undefined) return undefined;
      return { status: rvm.status, osStatus: rvm.osStatus, stopRequested: stopRequested.has(vmid), image: rvm.imageName };
    },
    bytesOut: (vmid) => rm.lookup(vmid)?.console.bytesOut ?? 0,
    bytesIn: (vmid) => rm.lookup(vmid)?.console.bytesIn ?? 0,
    close: () => unsubscribe.forEach((off) => off()),
  };
}
