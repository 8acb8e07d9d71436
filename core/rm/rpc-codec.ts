// spec §9.1-§9.3: the RM RPC transport codec, shared by the Resource Manager and the HLOS driver.
//
// API
//   encodeMessage(type, msgId, seq, payload) -> Uint8Array[] | RpcEncodeError
//       The packets of one message, each <= 240 bytes (8-byte header + <= 232 payload bytes).
//   encodeReply(msgId, seq, rmError, data?) -> Uint8Array[] | RpcEncodeError
//       A REPLY whose payload is the u32 RM error followed by `data` (only when rmError is OK, spec §9.3).
//   decodeReply(payload) -> { rmError, data } | RM_ERROR.MSG_INVALID
//       Splits a reassembled REPLY payload into the error word and the call-specific data.
//   decodeHeader(packet) -> RpcHeader | RpcHeaderFault
//       The header fields, or why the receiver drops the packet.
//   new RpcReassembler().push(packet) -> RpcPushResult
//       One per receive direction: 'message' when a message is complete, 'pending' while continuation packets are
//       due, 'dropped' with a reason. A partial message that is abandoned is reported in `aborted`.
// Nothing here throws on bad input; refusals and drops are values. Packets returned by the encoders share one
// ArrayBuffer; payloads delivered by the reassembler are fresh buffers the caller owns.

import { RM_ERROR, RM_MSG_TYPE, RM_RPC } from '../abi/rm.js';

export type RpcMsgType = typeof RM_MSG_TYPE.REQUEST | typeof RM_MSG_TYPE.REPLY | typeof RM_MSG_TYPE.NOTIFICATION;
export type RpcMsgTypeName = 'request' | 'reply' | 'notification';

export type RpcRefusal =
  | 'payload_too_large'
  | 'bad_msg_type'
  | 'bad_msg_id'
  | 'bad_seq'
  | 'bad_rm_error'
  | 'error_reply_with_data';

export interface RpcEncodeError {
  readonly refused: RpcRefusal;
  readonly detail: string;
}

export interface RpcHeader {
  /** 0 CONTINUATION, 1 REQUEST, 2 REPLY, 3 NOTIFICATION. */
  readonly type: number;
  readonly numFragments: number;
  readonly seq: number;
  readonly msgId: number;
}

/** Why decodeHeader rejects a packet (spec §9.2 header validation). */
export type RpcHeaderFault = 'short_packet' | 'bad_api_version' | 'bad_header_words' | 'too_many_fragments';

/** Every reason the reassembler drops a packet or a partial message, in the order telemetry lists them. */
export const RPC_DROP_REASONS = [
  'short_packet',
  'bad_api_version',
  'bad_header_words',
  'too_many_fragments',
  /** Longer than one 240-byte msgqueue message; cannot arrive over an RM queue. */
  'oversized_packet',
  /** A continuation packet with no message in progress. */
  'orphan_continuation',
  /** A continuation whose msg_id, seq or num_fragments differ: it and the partial message are dropped. */
  'continuation_mismatch',
  /** A partial message abandoned because a new first packet arrived. */
  'superseded',
] as const;
export type RpcDropReason = (typeof RPC_DROP_REASONS)[number];

/** The partial message a push abandoned; the HLOS driver completes that call with an error. */
export interface RpcAborted {
  readonly type: RpcMsgType;
  readonly msgId: number;
  readonly seq: number;
}

export type RpcPushResult =
  | {
      readonly kind: 'message';
      readonly type: RpcMsgType;
      readonly msgId: number;
      readonly seq: number;
      readonly payload: Uint8Array;
      readonly aborted: RpcAborted | null;
    }
  | { readonly kind: 'pending'; readonly aborted: RpcAborted | null }
  | { readonly kind: 'dropped'; readonly reason: RpcDropReason; readonly aborted: RpcAborted | null };

export interface RpcReassemblerStats {
  /** Complete messages delivered. */
  readonly messages: number;
  readonly drops: Readonly<Record<RpcDropReason, number>>;
}

const { HEADER_BYTE0, HEADER_SIZE, MESSAGE_SIZE, PAYLOAD_SIZE, MAX_FRAGMENTS, MAX_MESSAGE, API_VERSION, HEADER_WORDS } =
  RM_RPC;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const EMPTY = new Uint8Array(0);

function msgTypeNumber(type: RpcMsgTypeName | number): number {
  switch (type) {
    case 'request':
      return RM_MSG_TYPE.REQUEST;
    case 'reply':
      return RM_MSG_TYPE.REPLY;
    case 'notification':
      return RM_MSG_TYPE.NOTIFICATION;
    default:
      return type === RM_MSG_TYPE.REQUEST || type === RM_MSG_TYPE.REPLY || type === RM_MSG_TYPE.NOTIFICATION
        ? type
        : -1;
  }
}

const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= U32_MAX;
const refuse = (refused: RpcRefusal, detail: string): RpcEncodeError => ({ refused, detail });

function checkIds(msgId: number, seq: number): RpcEncodeError | null {
  if (!isU32(msgId)) return refuse('bad_msg_id', `msg_id ${msgId} is not a u32`);
  if (!Number.isInteger(seq) || seq < 0 || seq > U16_MAX) return refuse('bad_seq', `seq ${seq} is not a u16`);
  return null;
}

/**
 * Frames a payload made of an optional u32 `lead` word followed by `data` (spec §9.2): first packet of `type`, then
 * continuation packets (type 0) repeating msg_id, seq and num_fragments. num_fragments = ceil(len/232) - 1.
 */
function frame(type: number, msgId: number, seq: number, hasLead: boolean, lead: number, data: Uint8Array) {
  const leadLen = hasLead ? 4 : 0;
  const len = leadLen + data.length;
  if (len > MAX_MESSAGE) {
    return refuse('payload_too_large', `payload of ${len} bytes exceeds ${MAX_MESSAGE} (63 x ${PAYLOAD_SIZE})`);
  }
  const numFragments = len === 0 ? 0 : Math.ceil(len / PAYLOAD_SIZE) - 1;
  const buf = new Uint8Array(len + HEADER_SIZE * (numFragments + 1));
  const packets: Uint8Array[] = new Array(numFragments + 1);
  let at = 0;
  for (let i = 0; i <= numFragments; i++) {
    const start = i * PAYLOAD_SIZE;
    const end = Math.min(start + PAYLOAD_SIZE, len);
    buf[at] = HEADER_BYTE0;
    buf[at + 1] = (i === 0 ? type : RM_MSG_TYPE.CONTINUATION) | (numFragments << 2);
    buf[at + 2] = seq & 0xff;
    buf[at + 3] = seq >>> 8;
    buf[at + 4] = msgId & 0xff;
    buf[at + 5] = (msgId >>> 8) & 0xff;
    buf[at + 6] = (msgId >>> 16) & 0xff;
    buf[at + 7] = msgId >>> 24;
    let body = at + HEADER_SIZE;
    if (i === 0 && hasLead) {
      buf[body] = lead & 0xff;
      buf[body + 1] = (lead >>> 8) & 0xff;
      buf[body + 2] = (lead >>> 16) & 0xff;
      buf[body + 3] = lead >>> 24;
      body += 4;
    }
    const from = Math.max(start - leadLen, 0);
    const to = end - leadLen;
    // Whole arrays where possible: a view of a small array (kept on V8's heap) moves its bytes off the heap first.
    if (to > from) buf.set(from === 0 && to === data.length ? data : data.subarray(from, to), body);
    const packetEnd = at + HEADER_SIZE + (end - start);
    packets[i] = numFragments === 0 ? buf : buf.subarray(at, packetEnd);
    at = packetEnd;
  }
  return packets;
}

/** The packets of one RPC message (spec §9.2), or why it cannot be sent. */
export function encodeMessage(
  type: RpcMsgTypeName | RpcMsgType,
  msgId: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array[] | RpcEncodeError {
  const typeNumber = msgTypeNumber(type);
  if (typeNumber < 0) return refuse('bad_msg_type', `message type ${String(type)} is not request, reply or notification`);
  return checkIds(msgId, seq) ?? frame(typeNumber, msgId, seq, false, 0, payload);
}

/**
 * A REPLY echoing the request's msg_id and seq (spec §9.2, §9.3). Its payload is the RM error word, then `data` when
 * rmError is OK; on error the RM sends the error word alone, so data with an error is refused rather than dropped.
 */
export function encodeReply(
  msgId: number,
  seq: number,
  rmError: number,
  data: Uint8Array = EMPTY,
): Uint8Array[] | RpcEncodeError {
  if (!isU32(rmError)) return refuse('bad_rm_error', `RM error ${rmError} is not a u32`);
  if (rmError !== RM_ERROR.OK && data.length > 0) {
    return refuse('error_reply_with_data', `an error reply carries only the error word, not ${data.length} data bytes`);
  }
  return checkIds(msgId, seq) ?? frame(RM_MSG_TYPE.REPLY, msgId, seq, true, rmError, data);
}

/**
 * Splits a REPLY payload (spec §9.3): the RM error, then the call-specific data, copied (a view of a small payload
 * would first move it off V8's heap, which costs more than copying a few bytes).
 */
export function decodeReply(
  payload: Uint8Array,
): { rmError: number; data: Uint8Array } | typeof RM_ERROR.MSG_INVALID {
  if (payload.length < 4) return RM_ERROR.MSG_INVALID;
  const rmError = (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
  return { rmError, data: payload.slice(4) };
}

/** spec §9.2 rules table: what the RM checks before looking at a packet. */
function headerFault(packet: Uint8Array): RpcHeaderFault | null {
  if (packet.length < HEADER_SIZE) return 'short_packet';
  const byte0 = packet[0];
  if ((byte0 & 0xf) !== API_VERSION) return 'bad_api_version';
  if (byte0 >>> 4 !== HEADER_WORDS) return 'bad_header_words';
  if (packet[1] >>> 2 > MAX_FRAGMENTS) return 'too_many_fragments';
  return null;
}

const readSeq = (p: Uint8Array) => p[2] | (p[3] << 8);
const readMsgId = (p: Uint8Array) => (p[4] | (p[5] << 8) | (p[6] << 16) | (p[7] << 24)) >>> 0;

export function decodeHeader(packet: Uint8Array): RpcHeader | RpcHeaderFault {
  const fault = headerFault(packet);
  if (fault !== null) return fault;
  return { type: packet[1] & 3, numFragments: packet[1] >>> 2, seq: readSeq(packet), msgId: readMsgId(packet) };
}

const PENDING: RpcPushResult = Object.freeze({ kind: 'pending', aborted: null });
const DROPPED = Object.fromEntries(
  RPC_DROP_REASONS.map((reason) => [reason, Object.freeze({ kind: 'dropped', reason, aborted: null })]),
) as Record<RpcDropReason, RpcPushResult>;

/**
 * Reassembles the packets of one receive direction (spec §9.2): a first packet (REQUEST, REPLY or NOTIFICATION)
 * announces num_fragments continuation packets that must repeat its msg_id, seq and num_fragments.
 */
export class RpcReassembler {
  private readonly counters = {
    messages: 0,
    drops: Object.fromEntries(RPC_DROP_REASONS.map((r) => [r, 0])) as Record<RpcDropReason, number>,
  };
  /** The partial message, or null when none is in progress. */
  private buf: Uint8Array | null = null;
  private len = 0;
  private remaining = 0;
  private type: RpcMsgType = RM_MSG_TYPE.REQUEST;
  private msgId = 0;
  private seq = 0;
  private numFragments = 0;

  get stats(): RpcReassemblerStats {
    return this.counters;
  }

  /** True while continuation packets of a message are due. */
  get partial(): boolean {
    return this.buf !== null;
  }

  push(packet: Uint8Array): RpcPushResult {
    const fault = headerFault(packet);
    if (fault !== null) return this.drop(fault);
    if (packet.length > MESSAGE_SIZE) return this.drop('oversized_packet');
    const type = packet[1] & 3;
    const numFragments = packet[1] >>> 2;
    const seq = readSeq(packet);
    const msgId = readMsgId(packet);

    if (type === RM_MSG_TYPE.CONTINUATION) {
      const buf = this.buf;
      if (buf === null) return this.drop('orphan_continuation');
      if (msgId !== this.msgId || seq !== this.seq || numFragments !== this.numFragments) {
        this.counters.drops.continuation_mismatch++;
        return { kind: 'dropped', reason: 'continuation_mismatch', aborted: this.abandon() };
      }
      buf.set(packet.subarray(HEADER_SIZE), this.len);
      this.len += packet.length - HEADER_SIZE;
      if (--this.remaining > 0) return PENDING;
      this.buf = null;
      return this.deliver(this.type, msgId, seq, buf.subarray(0, this.len), null);
    }

    // spec §9.2: a new first packet drops any partial message.
    let aborted: RpcAborted | null = null;
    if (this.buf !== null) {
      this.counters.drops.superseded++;
      aborted = this.abandon();
    }
    if (numFragments === 0) return this.deliver(type as RpcMsgType, msgId, seq, packet.slice(HEADER_SIZE), aborted);
    const buf = new Uint8Array((numFragments + 1) * PAYLOAD_SIZE);
    buf.set(packet.subarray(HEADER_SIZE));
    this.buf = buf;
    this.len = packet.length - HEADER_SIZE;
    this.remaining = numFragments;
    this.type = type as RpcMsgType;
    this.msgId = msgId;
    this.seq = seq;
    this.numFragments = numFragments;
    return aborted === null ? PENDING : { kind: 'pending', aborted };
  }

  private drop(reason: RpcDropReason): RpcPushResult {
    this.counters.drops[reason]++;
    return DROPPED[reason];
  }

  private abandon(): RpcAborted {
    this.buf = null;
    return { type: this.type, msgId: this.msgId, seq: this.seq };
  }

  private deliver(type: RpcMsgType, msgId: number, seq: number, payload: Uint8Array, aborted: RpcAborted | null) {
    this.counters.messages++;
    return { kind: 'message', type, msgId, seq, payload, aborted } as const;
  }
}
