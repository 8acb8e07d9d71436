// The Resource Manager's own counters, plain typed arrays read by sysfs, REST and /metrics at scrape time:
// requests by message and RM result, notifications sent and dropped by ID, and packets or messages dropped by
// reason. Per-client figures (pending notifications, pending reply) live on each client's RpcEndpoint.
import { RM_ERROR, RM_MSG, RM_NOTIF, rmErrorName } from '../abi/rm.js';
import { RPC_DROP_REASONS } from './rpc-codec.js';

/** Rows: the request IDs of spec §9.4 in RM_MSG order, then UNKNOWN for every other ID. */
export const RM_STAT_MESSAGES: readonly string[] = [...Object.keys(RM_MSG), 'UNKNOWN'];
/** Columns: `RM_OK`, `RM_ERROR_<NAME>` in RM_ERROR order. */
export const RM_STAT_RESULTS: readonly string[] = Object.values(RM_ERROR).map(rmErrorName);
export const RM_STAT_NOTIFICATIONS: readonly string[] = Object.keys(RM_NOTIF);

/** Why the RM dropped something: the codec's packet reasons, then the RM's own (spec §9.1-§9.2, R-FIFO). */
export const RM_DROP_REASONS = [
  ...RPC_DROP_REASONS,
  /** A complete message that is not a REQUEST (spec §9.2: silently dropped). */
  'not_request',
  /** A reply still waiting for TX space, replaced by a newer one (one pending reply per client). */
  'reply_superseded',
  /** The oldest of 256 queued notifications, dropped for a new one (R-FIFO). */
  'notification_overflow',
  /** A message abandoned because the client's queue refused it with an error other than FULL. */
  'tx_error',
] as const;
export type RmDropReason = (typeof RM_DROP_REASONS)[number];

const MESSAGE_ROW = new Map<number, number>(Object.values(RM_MSG).map((id, i) => [id, i]));
const RESULT_COLUMN = new Map<number, number>(Object.values(RM_ERROR).map((code, i) => [code, i]));
const NOTIFICATION_ROW = new Map<number, number>(Object.values(RM_NOTIF).map((id, i) => [id, i]));
const DROP_INDEX = new Map<RmDropReason, number>(RM_DROP_REASONS.map((r, i) => [r, i]));
const UNKNOWN_ROW = RM_STAT_MESSAGES.length - 1;

export class RmStats {
  /** requests[row * RM_STAT_RESULTS.length + column]: replies sent, by request and RM error. */
  readonly requests = new Float64Array(RM_STAT_MESSAGES.length * RM_STAT_RESULTS.length);
  /** Notifications whose last packet reached the client's queue, by RM_NOTIF order. */
  readonly notificationsSent = new Float64Array(RM_STAT_NOTIFICATIONS.length);
  /** Notifications dropped (queue overflow or a broken link), by RM_NOTIF order. */
  readonly notificationsDropped = new Float64Array(RM_STAT_NOTIFICATIONS.length);
  /** drops[RM_DROP_REASONS index]. */
  readonly drops = new Float64Array(RM_DROP_REASONS.length);
  /** Service handlers that threw: answered with RM_ERROR_DENIED instead of crashing the RM. */
  handlerFaults = 0;
  /** The global notification counter: the seq of the next notification (spec §9.2). */
  notificationSeq = 0;

  replied(msgId: number, rmError: number): void {
    const row = MESSAGE_ROW.get(msgId) ?? UNKNOWN_ROW;
    const column = RESULT_COLUMN.get(rmError >>> 0);
    if (column !== undefined) this.requests[row * RM_STAT_RESULTS.length + column]!++;
  }

  notificationSent(msgId: number): void {
    const row = NOTIFICATION_ROW.get(msgId);
    if (row !== undefined) this.notificationsSent[row]!++;
  }

  notificationDropped(msgId: number): void {
    const row = NOTIFICATION_ROW.get(msgId);
    if (row !== undefined) this.notificationsDropped[row]!++;
  }

  dropped(reason: RmDropReason): void {
    this.drops[DROP_INDEX.get(reason)!]!++;
  }

  /** Replies of one request name and result name (`VM_GET_STATE`, `RM_OK`). */
  count(message: string, result: string): number {
    const row = RM_STAT_MESSAGES.indexOf(message);
    const column = RM_STAT_RESULTS.indexOf(result);
    return row < 0 || column < 0 ? 0 : this.requests[row * RM_STAT_RESULTS.length + column]!;
  }

  drop(reason: RmDropReason): number {
    return this.drops[DROP_INDEX.get(reason)!]!;
  }

  sent(notification: string): number {
    const row = RM_STAT_NOTIFICATIONS.indexOf(notification);
    return row < 0 ? 0 : this.notificationsSent[row]!;
  }
}
