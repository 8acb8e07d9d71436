import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RM_ERROR, RM_MSG, RM_MSG_TYPE, RM_RPC } from '../../core/abi/rm.js';
import {
  RPC_DROP_REASONS,
  RpcReassembler,
  decodeHeader,
  decodeReply,
  encodeMessage,
  encodeReply,
  type RpcPushResult,
} from '../../core/rm/rpc-codec.js';

const SEED = 0x6779;

function packetsOf(result: ReturnType<typeof encodeMessage>): Uint8Array[] {
  assert.ok(Array.isArray(result), `expected packets, got ${JSON.stringify(result)}`);
  return result;
}

function bytes(n: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
}

/** A header as the wire carries it: byte0, type | fragments << 2, seq LE, msg_id LE. */
function header(type: number, numFragments: number, seq: number, msgId: number, byte0 = 0x21): number[] {
  return [byte0, type | (numFragments << 2), seq & 0xff, seq >> 8, msgId & 0xff, (msgId >>> 8) & 0xff,
    (msgId >>> 16) & 0xff, msgId >>> 24];
}

function pushAll(r: RpcReassembler, packets: Uint8Array[]): RpcPushResult[] {
  return packets.map((p) => r.push(p));
}

describe('encodeMessage framing (spec §9.2)', () => {
  it('writes byte0 0x21, the type, seq and msg_id little-endian for a VM_GET_STATE request', () => {
    const [packet, ...rest] = packetsOf(encodeMessage('request', RM_MSG.VM_GET_STATE, 0x1234, Uint8Array.of(5, 0, 0, 0)));
    assert.equal(rest.length, 0);
    assert.deepEqual([...packet], [0x21, 0x01, 0x34, 0x12, 0x17, 0x00, 0x00, 0x56, 5, 0, 0, 0]);
  });

  it('accepts the RM_MSG_TYPE numbers as well as the names', () => {
    const byName = packetsOf(encodeMessage('notification', 0x56100008, 7, bytes(8)));
    const byNumber = packetsOf(encodeMessage(RM_MSG_TYPE.NOTIFICATION, 0x56100008, 7, bytes(8)));
    assert.deepEqual(byNumber, byName);
    assert.equal(byName[0][1], 0x03);
  });

  it('sends an empty payload as one header-only packet with num_fragments 0', () => {
    const packets = packetsOf(encodeMessage('request', RM_MSG.VM_GET_VMID, 1, new Uint8Array(0)));
    assert.deepEqual(packets.map((p) => [...p]), [header(1, 0, 1, RM_MSG.VM_GET_VMID)]);
  });

  it('fits 232 payload bytes in one 240-byte packet', () => {
    const packets = packetsOf(encodeMessage('reply', 1, 2, bytes(232)));
    assert.deepEqual(packets.map((p) => p.length), [240]);
    assert.equal(packets[0][1], 0x02);
  });

  it('splits 233 bytes into a first packet and one continuation that repeat msg_id, seq and num_fragments', () => {
    const packets = packetsOf(encodeMessage('request', 0x51000012, 0xbeef, bytes(233)));
    assert.deepEqual(packets.map((p) => p.length), [240, 9]);
    assert.deepEqual([...packets[0].subarray(0, 8)], header(1, 1, 0xbeef, 0x51000012));
    assert.deepEqual([...packets[1].subarray(0, 8)], header(0, 1, 0xbeef, 0x51000012));
    assert.equal(packets[1][8], 232);
  });

  it('sends the 14616-byte maximum as 63 full packets with num_fragments 62', () => {
    const packets = packetsOf(encodeMessage('notification', 0x56100080, 9, bytes(RM_RPC.MAX_MESSAGE)));
    assert.equal(packets.length, 63);
    assert.ok(packets.every((p) => p.length === 240 && p[1] >> 2 === 62));
    assert.deepEqual(packets.slice(1).map((p) => p[1] & 3), new Array(62).fill(0));
  });

  it('refuses 14617 bytes instead of throwing', () => {
    const result = encodeMessage('request', 1, 1, new Uint8Array(RM_RPC.MAX_MESSAGE + 1));
    assert.ok(!Array.isArray(result));
    assert.equal(result.refused, 'payload_too_large');
  });

  it('refuses a continuation type, a seq beyond u16 and a msg_id beyond u32', () => {
    const refusal = (r: ReturnType<typeof encodeMessage>) => (Array.isArray(r) ? 'sent' : r.refused);
    assert.equal(refusal(encodeMessage(0 as never, 1, 1, bytes(1))), 'bad_msg_type');
    assert.equal(refusal(encodeMessage('request', 1, 0x10000, bytes(1))), 'bad_seq');
    assert.equal(refusal(encodeMessage('request', -1, 1, bytes(1))), 'bad_msg_id');
    assert.equal(refusal(encodeMessage('request', 2 ** 32, 1, bytes(1))), 'bad_msg_id');
  });
});

describe('encodeReply and decodeReply (spec §9.3)', () => {
  it('puts the RM error word before the data and echoes the request seq', () => {
    const [packet] = packetsOf(encodeReply(RM_MSG.VM_GET_VMID, 0x0102, RM_ERROR.OK, Uint8Array.of(3, 0, 0, 0)));
    assert.deepEqual([...packet], [...header(2, 0, 0x0102, RM_MSG.VM_GET_VMID), 0, 0, 0, 0, 3, 0, 0, 0]);
  });

  it('sends only the 4-byte error when the call failed', () => {
    const [packet] = packetsOf(encodeReply(RM_MSG.VM_START, 5, RM_ERROR.UNIMPLEMENTED));
    assert.deepEqual([...packet.subarray(8)], [0xff, 0xff, 0xff, 0xff]);
  });

  it('refuses data with an error rather than dropping it, and a reply over the message limit', () => {
    const withData = encodeReply(RM_MSG.VM_START, 5, RM_ERROR.DENIED, bytes(4));
    assert.ok(!Array.isArray(withData) && withData.refused === 'error_reply_with_data');
    const tooLarge = encodeReply(RM_MSG.VM_START, 5, RM_ERROR.OK, bytes(RM_RPC.MAX_MESSAGE - 3));
    assert.ok(!Array.isArray(tooLarge) && tooLarge.refused === 'payload_too_large');
    assert.ok(Array.isArray(encodeReply(RM_MSG.VM_START, 5, RM_ERROR.OK, bytes(RM_RPC.MAX_MESSAGE - 4))));
    const badError = encodeReply(RM_MSG.VM_START, 5, -1);
    assert.ok(!Array.isArray(badError) && badError.refused === 'bad_rm_error');
  });

  it('carries data that crosses a fragment boundary intact', () => {
    const data = bytes(500, 7);
    const message = new RpcReassembler();
    const results = pushAll(message, packetsOf(encodeReply(0x56000020, 3, RM_ERROR.OK, data)));
    const last = results[results.length - 1];
    assert.equal(last.kind, 'message');
    assert.deepEqual(decodeReply(last.kind === 'message' ? last.payload : new Uint8Array(0)), {
      rmError: RM_ERROR.OK,
      data,
    });
  });

  it('splits a reply payload into the error and the data, and calls a payload under 4 bytes MSG_INVALID', () => {
    assert.deepEqual(decodeReply(Uint8Array.of(0x0d, 0, 0, 0)), { rmError: RM_ERROR.VMID_INVALID, data: new Uint8Array(0) });
    assert.equal(decodeReply(Uint8Array.of(0, 0, 0)), RM_ERROR.MSG_INVALID);
  });
});

describe('decodeHeader (spec §9.2 header validation)', () => {
  it('reads type, num_fragments, seq and msg_id', () => {
    assert.deepEqual(decodeHeader(Uint8Array.from(header(3, 5, 0xa1b2, 0x56100080))), {
      type: 3,
      numFragments: 5,
      seq: 0xa1b2,
      msgId: 0x56100080,
    });
  });

  it('names the fault of each invalid header', () => {
    assert.equal(decodeHeader(Uint8Array.of(0x21, 1, 0, 0, 0, 0, 0)), 'short_packet');
    assert.equal(decodeHeader(Uint8Array.from(header(1, 0, 0, 0, 0x22))), 'bad_api_version');
    assert.equal(decodeHeader(Uint8Array.from(header(1, 0, 0, 0, 0x31))), 'bad_header_words');
    assert.equal(decodeHeader(Uint8Array.from(header(1, 63, 0, 0))), 'too_many_fragments');
    assert.notEqual(typeof decodeHeader(Uint8Array.from(header(1, 62, 0, 0))), 'string');
  });
});

describe('RpcReassembler', () => {
  it('delivers every payload from 0 to 14616 bytes exactly as sent (property, fixed seed)', () => {
    const message = fc.record({
      type: fc.constantFrom('request' as const, 'reply' as const, 'notification' as const),
      msgId: fc.integer({ min: 0, max: 0xffffffff }),
      seq: fc.integer({ min: 0, max: 0xffff }),
      payload: fc.integer({ min: 0, max: RM_RPC.MAX_MESSAGE }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    });
    const types = { request: 1, reply: 2, notification: 3 };
    const r = new RpcReassembler();
    fc.assert(
      fc.property(message, ({ type, msgId, seq, payload }) => {
        const packets = packetsOf(encodeMessage(type, msgId, seq, payload));
        const results = pushAll(r, packets);
        assert.ok(packets.every((p) => p.length <= RM_RPC.MESSAGE_SIZE));
        assert.ok(results.slice(0, -1).every((x) => x.kind === 'pending'));
        assert.deepEqual(results[results.length - 1], {
          kind: 'message', type: types[type], msgId, seq, payload, aborted: null,
        });
      }),
      { seed: SEED, numRuns: 300 },
    );
    assert.equal(r.stats.messages, 300);
    assert.ok(Object.values(r.stats.drops).every((n) => n === 0));
  });

  it('drops each invalid header and counts it by reason', () => {
    const r = new RpcReassembler();
    const dropped = (p: number[]) => {
      const x = r.push(Uint8Array.from(p));
      return x.kind === 'dropped' ? x.reason : x.kind;
    };
    assert.equal(dropped([0x21, 1, 0, 0, 0, 0, 0]), 'short_packet');
    assert.equal(dropped(header(1, 0, 0, 0, 0x20)), 'bad_api_version');
    assert.equal(dropped(header(1, 0, 0, 0, 0x11)), 'bad_header_words');
    assert.equal(dropped(header(1, 63, 0, 0)), 'too_many_fragments');
    assert.equal(dropped([...header(1, 0, 0, 0), ...new Array(233).fill(0)]), 'oversized_packet');
    assert.equal(dropped(header(0, 1, 0, 0)), 'orphan_continuation');
    assert.deepEqual(r.stats.drops, {
      short_packet: 1, bad_api_version: 1, bad_header_words: 1, too_many_fragments: 1, oversized_packet: 1,
      orphan_continuation: 1, continuation_mismatch: 0, superseded: 0,
    });
    assert.equal(r.stats.messages, 0);
  });

  for (const [field, patch] of [
    ['msg_id', (p: Uint8Array) => (p[4] ^= 1)],
    ['seq', (p: Uint8Array) => (p[2] ^= 1)],
    ['num_fragments', (p: Uint8Array) => (p[1] = 5 << 2)],
  ] as const) {
    it(`aborts the partial message when a continuation's ${field} differs`, () => {
      const r = new RpcReassembler();
      const [first, second, third] = packetsOf(encodeMessage('reply', RM_MSG.VM_GET_HYP_RESOURCES, 40, bytes(600)));
      assert.deepEqual(r.push(first), { kind: 'pending', aborted: null });
      const bad = second.slice();
      patch(bad);
      assert.deepEqual(r.push(bad), {
        kind: 'dropped',
        reason: 'continuation_mismatch',
        aborted: { type: RM_MSG_TYPE.REPLY, msgId: RM_MSG.VM_GET_HYP_RESOURCES, seq: 40 },
      });
      assert.equal(r.partial, false);
      assert.deepEqual(r.push(third), { kind: 'dropped', reason: 'orphan_continuation', aborted: null });
      assert.equal(r.stats.drops.continuation_mismatch, 1);
    });
  }

  it('drops a partial message when a new first packet arrives and reports it, then completes the new one', () => {
    const r = new RpcReassembler();
    const reply = packetsOf(encodeMessage('reply', RM_MSG.VM_GET_HYP_RESOURCES, 11, bytes(300)));
    const notification = packetsOf(encodeMessage('notification', 0x56100008, 0, bytes(8)));
    r.push(reply[0]);
    assert.deepEqual(r.push(notification[0]), {
      kind: 'message',
      type: RM_MSG_TYPE.NOTIFICATION,
      msgId: 0x56100008,
      seq: 0,
      payload: bytes(8),
      aborted: { type: RM_MSG_TYPE.REPLY, msgId: RM_MSG.VM_GET_HYP_RESOURCES, seq: 11 },
    });
    assert.equal(r.push(reply[1]).kind, 'dropped');
    assert.equal(r.stats.drops.superseded, 1);
    assert.equal(r.stats.drops.orphan_continuation, 1);
  });

  it('reports the abort on a pending result when the new message itself has fragments', () => {
    const r = new RpcReassembler();
    const a = packetsOf(encodeMessage('request', RM_MSG.MEM_LEND, 1, bytes(400)));
    const b = packetsOf(encodeMessage('request', RM_MSG.MEM_SHARE, 2, bytes(400, 9)));
    const results = pushAll(r, [a[0], b[0], a[1], b[1]]);
    assert.deepEqual(results[1], { kind: 'pending', aborted: { type: 1, msgId: RM_MSG.MEM_LEND, seq: 1 } });
    assert.deepEqual(results[2], { kind: 'dropped', reason: 'continuation_mismatch', aborted: { type: 1, msgId: RM_MSG.MEM_SHARE, seq: 2 } });
    assert.deepEqual(results[3], { kind: 'dropped', reason: 'orphan_continuation', aborted: null });
  });

  it('accepts short middle fragments and concatenates what arrives, as the RM does', () => {
    const r = new RpcReassembler();
    const results = pushAll(r, [
      Uint8Array.from([...header(1, 2, 3, 4), 1, 2]),
      Uint8Array.from([...header(0, 2, 3, 4), 3]),
      Uint8Array.from([...header(0, 2, 3, 4), 4, 5]),
    ]);
    assert.deepEqual(results.at(-1), { kind: 'message', type: 1, msgId: 4, seq: 3, payload: Uint8Array.of(1, 2, 3, 4, 5), aborted: null });
  });

  it('never throws on random packets and accounts for every one (thousands of runs)', () => {
    const header0 = fc.constantFrom(0x21, 0x21, 0x21, 0x20, 0x11);
    const packet = fc.oneof(
      fc.uint8Array({ maxLength: 260 }),
      fc.tuple(header0, fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 2, maxLength: 2 }),
        fc.constantFrom(0, 1), fc.uint8Array({ maxLength: 240 }))
        .map(([b0, b1, seq, id, body]) => Uint8Array.from([b0, b1 & 0x0f, ...seq, id, 0, 0, 0, ...body])),
    );
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 20 }), (packets) => {
        const r = new RpcReassembler();
        let delivered = 0;
        for (const p of packets) {
          const result = r.push(p);
          assert.ok(['message', 'pending', 'dropped'].includes(result.kind));
          if (result.kind === 'message') delivered++;
        }
        assert.equal(r.stats.messages, delivered);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('lists every drop reason in its stats', () => {
    assert.deepEqual(Object.keys(new RpcReassembler().stats.drops), [...RPC_DROP_REASONS]);
  });
});
