// Resource Manager RPC (spec §9): what the RM answered and notified (its own counters), and the HLOS driver's view
// of its round trips (latency histogram and timeouts, kept in typed arrays by core/hlos/rpc-stats.ts).
import { bucketBound, type ExpositionWriter } from '../exposition.js';
import { FAMILY } from '../families.js';
import { bounded, header, type Scrape } from './scrape.js';

const REQUESTS = FAMILY.gunyah_rm_rpc_requests_total;
const VM_REQUESTS = FAMILY.gunyah_rm_rpc_vm_requests_total;
const DURATION = FAMILY.gunyah_rm_rpc_duration_seconds;
const TIMEOUTS = FAMILY.gunyah_rm_rpc_timeouts_total;
const NOTIFICATIONS = FAMILY.gunyah_rm_notifications_total;
const PENDING = FAMILY.gunyah_rm_pending_notifications;

export function* rmCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  const { rm, hlosRpc } = s.sources;

  // message x result is a large product: only the pairs that occurred, summed by label set (unknown names fold
  // into UNKNOWN and must not repeat a series).
  header(w, REQUESTS);
  if (rm !== undefined) {
    const bySeries = new Map<string, number>();
    for (const [message, result, count] of rm.requests()) {
      if (!(count > 0)) continue;
      const labels = `message="${bounded(REQUESTS, 'message', message)}",result="${bounded(REQUESTS, 'result', result)}"`;
      bySeries.set(labels, (bySeries.get(labels) ?? 0) + count);
    }
    for (const [labels, count] of bySeries) w.sample(REQUESTS.name, labels, count);
  }
  yield;

  header(w, VM_REQUESTS);
  if (rm !== undefined) {
    for (let i = 0; i < s.vms.length; i++) {
      w.sample(VM_REQUESTS.name, s.vmLabels[i]!, rm.vmRequests(s.vms[i]!.vmid));
      yield;
    }
  }

  // The HLOS driver's rows follow the catalogue's message list (RM_MSG order, then UNKNOWN); a message never sent
  // has no histogram, every message has a timeout counter (the timeout alert needs a series to take increase() of).
  header(w, DURATION);
  if (hlosRpc !== undefined) {
    const le = hlosRpc.buckets.map(bucketBound);
    const width = le.length + 1;
    for (let row = 0; row < hlosRpc.messages.length; row++) {
      if (hlosRpc.durationCount[row]! === 0) continue;
      const labels = `message="${bounded(DURATION, 'message', hlosRpc.messages[row]!)}"`;
      w.histogram(DURATION.name, labels, le, hlosRpc.durationBuckets, row * width, hlosRpc.durationSum[row]!);
    }
  }
  yield;

  header(w, TIMEOUTS);
  if (hlosRpc !== undefined) {
    for (let row = 0; row < hlosRpc.messages.length; row++) {
      w.sample(TIMEOUTS.name, `message="${bounded(TIMEOUTS, 'message', hlosRpc.messages[row]!)}"`, hlosRpc.timeouts[row]!);
    }
  }
  yield;

  header(w, NOTIFICATIONS);
  if (rm !== undefined) {
    for (const notification of NOTIFICATIONS.values.notification) {
      w.sample(NOTIFICATIONS.name, `notification="${notification}"`, rm.notifications(notification));
    }
  }
  yield;

  header(w, PENDING);
  if (rm !== undefined) {
    for (let i = 0; i < s.vms.length; i++) {
      w.sample(PENDING.name, s.vmLabels[i]!, rm.pendingNotifications(s.vms[i]!.vmid));
      yield;
    }
  }
}
