// Hostile RM RPC from a secondary VM's own RM link on a booted device (issue 8, item 2; spec §9.1-§9.3): requests
// with random and VMID-naming payloads for every known message ID and for unknown IDs, and broken transport: cut
// packets, packets over the queue's size, headers claiming too many fragments, orphan and mismatched
// continuations, two fragmented messages interleaved, replies and notifications sent by the client. A model
// reassembler sees the same accepted packets. After every case: each complete REQUEST got exactly one REPLY with its
// msg_id and seq, in order (a reply the RM had to supersede is counted as such, never lost silently), the RM's
// reassembler delivered what the model did, and the device's invariants hold. test/rm/rpc-server.test.ts fuzzes the
// HLOS link of a bare RM; this one attacks from a secondary VM among running guests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { GH_ERROR } from '../../core/abi/errors.js';
import { RM_MSG, RM_MSG_TYPE, RM_RPC } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { encodeMessage, RpcReassembler } from '../../core/rm/rpc-codec.js';
import { settle } from '../rm/harness.js';
import { fuzzParams, FUZZ_SEED } from './fuzz-config.js';
import { fuzzDevice, type FuzzDevice } from './fuzz-device.js';

let dev: FuzzDevice;
before(async () => {
  dev = await fuzzDevice(FUZZ_SEED);
});
after(() => dev.close());

/** An 8-byte RPC header (spec §9.2) with any field wrong if asked. */
function header(type: number, fragments: number, seq: number, msgId: number, byte0: number = RM_RPC.HEADER_BYTE0): Uint8Array {
  const p = new Uint8Array(RM_RPC.HEADER_SIZE);
  const v = new DataView(p.buffer);
  p[0] = byte0;
  p[1] = (type & 3) | ((fragments & 0x3f) << 2);
  v.setUint16(2, seq, true);
  v.setUint32(4, msgId >>> 0, true);
  return p;
}
const packet = (head: Uint8Array, body: Uint8Array) => {
  const p = new Uint8Array(head.length + body.length);
  p.set(head);
  p.set(body, head.length);
  return p;
};
const requestPackets = (msgId: number, seq: number, payload: Uint8Array) => encodeMessage('request', msgId, seq, payload) as Uint8Array[];

test('hostile RPC packets on a secondary VM\'s RM link: every complete request answered once, everything else dropped and counted', async (t) => {
  const { device, vmids } = dev;
  const rm = device.system.rm;
  const client = dev.preyRpc();
  const endpoint = rm.lookup(vmids.prey)!.endpoint!;
  const tx = client.port.txCapid;
  const toRm = dev.prey.cspace.lookup<Msgqueue>(Number(tx & 0xffffffffn), Number(tx >> 32n), 'msgqueue', 0);
  assert.ok(typeof toRm !== 'number', 'the prey\'s queue to the RM');
  // Not MEM_RELEASE: the prey would give back the memory it borrowed, where its own RPC buffers live. A guest may do
  // that to itself (and lose its link), but the fuzz would lose its channel with it.
  const known = Object.values(RM_MSG).filter((id) => id !== RM_MSG.MEM_RELEASE);
  const msgId = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) });
  const seq = fc.integer({ min: 0, max: 0xffff });
  const vmid = fc.constantFrom(VMID.SELF, VMID.HLOS, VMID.RM, vmids.prey, vmids.echo, vmids.load, 0x7f, 0xffff);
  // Payloads: random bytes of every size up to several fragments, and VMID-naming bodies the services parse.
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 16 }),
    fc.uint8Array({ maxLength: 3 * RM_RPC.PAYLOAD_SIZE }),
    fc.tuple(vmid, fc.uint8Array({ maxLength: 12 })).map(([id, tail]) => packet(Uint8Array.of(id & 0xff, id >> 8, 0, 0), tail)),
  );
  const request = fc.tuple(msgId, seq, payload).map(([id, s, body]) => requestPackets(id, s, body));
  const op = fc.oneof(
    { weight: 6, arbitrary: request },
    // Truncated: a request's packet cut short, anywhere, its header included.
    { weight: 2, arbitrary: fc.tuple(request, fc.nat()).map(([ps, cut]) => { const last = ps[ps.length - 1]!; return [...ps.slice(0, -1), last.subarray(0, cut % last.length)]; }) },
    // A fragment lost from the middle of a long request.
    { weight: 1, arbitrary: fc.tuple(msgId, seq, fc.uint8Array({ minLength: 2 * RM_RPC.PAYLOAD_SIZE, maxLength: 4 * RM_RPC.PAYLOAD_SIZE }), fc.nat())
      .map(([id, s, body, k]) => { const ps = requestPackets(id, s, body); ps.splice(1 + (k % (ps.length - 1)), 1); return ps; }) },
    // Oversized: more than the queue's 240 bytes, or a header announcing more fragments than the RPC maximum.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: RM_RPC.MESSAGE_SIZE + 1, maxLength: 400 }).map((p) => [p]) },
    { weight: 1, arbitrary: fc.tuple(seq, msgId, fc.integer({ min: RM_RPC.MAX_FRAGMENTS + 1, max: 63 })).map(([s, id, n]) => [packet(header(RM_MSG_TYPE.REQUEST, n, s, id), new Uint8Array(8))]) },
    // Continuations with no message in progress, or that do not match the one in progress.
    { weight: 2, arbitrary: fc.tuple(seq, msgId, fc.integer({ min: 0, max: 63 }), fc.uint8Array({ maxLength: 232 })).map(([s, id, n, body]) => [packet(header(0, n, s, id), body)]) },
    // Two fragmented requests interleaved packet by packet.
    { weight: 2, arbitrary: fc.tuple(request, request, fc.array(fc.boolean(), { maxLength: 16 })).map(([a, b, picks]) => {
      const out: Uint8Array[] = [];
      let i = 0;
      let j = 0;
      for (const pick of picks) {
        if ((pick || j >= b.length) && i < a.length) out.push(a[i++]!);
        else if (j < b.length) out.push(b[j++]!);
      }
      return [...out, ...a.slice(i), ...b.slice(j)];
    }) },
    // What only the RM may send: replies and notifications, and headers with a wrong version or size.
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('reply', 'notification') as fc.Arbitrary<'reply' | 'notification'>, msgId, seq, payload)
      .map(([type, id, s, body]) => encodeMessage(type, id, s, body) as Uint8Array[]) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), seq, msgId).map(([b0, s, id]) => [packet(header(RM_MSG_TYPE.REQUEST, 0, s, id, b0), new Uint8Array(4))]) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 240 }).map((p) => [p]) },
  );

  const model = new RpcReassembler();
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 5 }), async (ops) => {
      const packets = ops.flat();
      const expected: string[] = [];
      let messages = 0;
      const supersededBefore = rm.stats.drop('reply_superseded');
      const deliveredBefore = endpoint.rxStats.messages;
      client.messages.length = 0;
      for (let i = 0; i < packets.length; i++) {
        const p = packets[i]!;
        let err = client.sendPacket(p, i === packets.length - 1);
        while (err === GH_ERROR.MSGQUEUE_FULL) {
          await client.port.waitTxReady();
          err = client.sendPacket(p, i === packets.length - 1);
        }
        if (p.length === 0 || p.length > RM_RPC.MESSAGE_SIZE) {
          assert.equal(err, GH_ERROR.ARGUMENT_SIZE, 'an empty packet, or one over the queue\'s message size, never reaches the RM');
          continue;
        }
        assert.equal(err, GH_ERROR.OK);
        const r = model.push(p);
        if (r.kind !== 'message') continue;
        messages++; // replies and notifications from a client are reassembled too, then dropped (not_request)
        if (r.type === RM_MSG_TYPE.REQUEST) expected.push(`${r.msgId}/${r.seq}`);
      }
      const replies = () => client.messages.filter((m) => m.type === RM_MSG_TYPE.REPLY).map((m) => `${m.msgId}/${m.seq}`);
      const superseded = () => rm.stats.drop('reply_superseded') - supersededBefore;
      // The RM has taken every packet off the queue and every reply due has come back (or was superseded).
      for (let turns = 0; turns < 200 && (toRm.count > 0 || replies().length + superseded() < expected.length); turns++) await settle();
      await settle();
      const got = replies();
      answered += got.length;
      assert.equal(got.length + superseded(), expected.length, `replies ${got.join(' ')} for requests ${expected.join(' ')}`);
      let k = 0;
      for (const r of got) {
        while (k < expected.length && expected[k] !== r) k++;
        assert.ok(k++ < expected.length, `reply ${r} answers a request, in order (requests ${expected.join(' ')})`);
      }
      assert.equal(endpoint.rxStats.messages - deliveredBefore, messages, 'the RM reassembled exactly what the model did');
      await dev.check();
    }),
    fuzzParams(1000),
  );
  const drops = Object.entries(endpoint.rxStats.drops).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${n}`);
  t.diagnostic(`${answered} requests answered; packets dropped by the RM: ${drops.join(', ')}; replies superseded: ${rm.stats.drop('reply_superseded')}`);
  assert.ok(answered > 0 && drops.length >= 5, 'the cases reach the services and every drop rule');
});
