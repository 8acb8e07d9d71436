// Counters of an RM client, kept in plain typed arrays that the /metrics layer reads at scrape time (no prom-client
// in core). Rows are messages in RM_MSG declaration order plus UNKNOWN for IDs outside spec §9.4; result columns are
// the RM errors in RM_ERROR declaration order followed by the transport outcomes.
import { RM_ERROR, RM_MSG, rmErrorName } from '../abi/rm.js';
import type { RmFailureReason } from './rm-failure.js';

export const RPC_STAT_MESSAGES: readonly string[] = [...Object.keys(RM_MSG), 'UNKNOWN'];
const TRANSPORT_RESULTS = ['timeout', 'aborted', 'transport', 'bad_reply', 'refused', 'closed'] as const satisfies
  readonly Exclude<RmFailureReason, 'rm_error'>[];
/** Result labels: `RM_OK`, `RM_ERROR_<NAME>` ..., then the transport outcomes. */
export const RPC_STAT_RESULTS: readonly string[] = [...Object.values(RM_ERROR).map(rmErrorName), ...TRANSPORT_RESULTS];
/**
 * Upper bounds of the round-trip histogram in seconds: RM round trips are microseconds in the emulator; the top
 * buckets catch a stalled RM. A last, implicit bucket counts everything slower (+Inf).
 */
export const RPC_DURATION_BUCKETS: readonly number[] = [
  5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
];

const MESSAGE_INDEX = new Map<number, number>(Object.values(RM_MSG).map((id, i) => [id, i]));
const RM_RESULT_INDEX = new Map<number, number>(Object.values(RM_ERROR).map((code, i) => [code, i]));
const UNKNOWN_ROW = RPC_STAT_MESSAGES.length - 1;
/** A reply whose error word is not in spec §3.3 counts as `bad_reply`. */
const UNKNOWN_RM_ERROR_COLUMN = RPC_STAT_RESULTS.indexOf('bad_reply');

export const messageRow = (msgId: number): number => MESSAGE_INDEX.get(msgId) ?? UNKNOWN_ROW;

export class RpcStats {
  readonly messages = RPC_STAT_MESSAGES;
  readonly results = RPC_STAT_RESULTS;
  readonly buckets = RPC_DURATION_BUCKETS;
  /** requests[row * results.length + column]: completed calls by message and result. */
  readonly requests = new Float64Array(RPC_STAT_MESSAGES.length * RPC_STAT_RESULTS.length);
  /** Calls that got no reply before their deadline, by message (also counted in `requests` as `timeout`). */
  readonly timeouts = new Float64Array(RPC_STAT_MESSAGES.length);
  /**
   * Round trips that got a reply, from the first fragment sent to the whole reply received:
   * durationBuckets[row * (buckets.length + 1) + b] counts the replies in bucket b (not cumulative; the last
   * column is +Inf). durationSum[row] is in seconds, durationCount[row] the number of replies.
   */
  readonly durationBuckets = new Float64Array(RPC_STAT_MESSAGES.length * (RPC_DURATION_BUCKETS.length + 1));
  readonly durationSum = new Float64Array(RPC_STAT_MESSAGES.length);
  readonly durationCount = new Float64Array(RPC_STAT_MESSAGES.length);
  /** Notifications received, by notification ID. */
  readonly notifications = new Map<number, number>();
  /** Replies with no pending call (late after a timeout, or unknown seq/msg_id): ignored as Linux does. */
  unmatchedReplies = 0;
  /** Packets the reassembler dropped (its own stats break them down by reason). */
  droppedPackets = 0;

  /** A call ended with a reply: its RM error word and round trip in seconds. */
  replied(msgId: number, rmError: number, seconds: number): void {
    const row = messageRow(msgId);
    const column = RM_RESULT_INDEX.get(rmError) ?? UNKNOWN_RM_ERROR_COLUMN;
    this.requests[row * RPC_STAT_RESULTS.length + column]!++;
    const buckets = RPC_DURATION_BUCKETS;
    let b = 0;
    while (b < buckets.length && seconds > buckets[b]!) b++;
    this.durationBuckets[row * (buckets.length + 1) + b]!++;
    this.durationSum[row]! += seconds;
    this.durationCount[row]!++;
  }

  /** A call ended without a usable reply. */
  failed(msgId: number, reason: Exclude<RmFailureReason, 'rm_error'>): void {
    const row = messageRow(msgId);
    this.requests[row * RPC_STAT_RESULTS.length + RPC_STAT_RESULTS.indexOf(reason)]!++;
    if (reason === 'timeout') this.timeouts[row]!++;
  }

  notified(msgId: number): void {
    this.notifications.set(msgId, (this.notifications.get(msgId) ?? 0) + 1);
  }

  /** Completed calls of one message and result label (tests and sysfs). */
  count(message: string, result: string): number {
    const row = RPC_STAT_MESSAGES.indexOf(message);
    const column = RPC_STAT_RESULTS.indexOf(result);
    return row < 0 || column < 0 ? 0 : this.requests[row * RPC_STAT_RESULTS.length + column]!;
  }
}
