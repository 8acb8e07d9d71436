import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RM_ERROR, RM_MSG, RM_NOTIF, RM_RPC } from '../../core/abi/rm.js';
import { RmCalls } from '../../core/hlos/rm-calls.js';
import { isRmFailure, RmFailure } from '../../core/hlos/rm-failure.js';
import { VmConsoleCharsNotification, VmGetStateReply, VmStatusNotification } from '../../core/rm/messages.js';
import { encodeMessage, encodeReply } from '../../core/rm/rpc-codec.js';
import { fakeRm } from './fake-rm.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const u32 = (v: number) => bytes(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
const settle = () => new Promise((r) => setImmediate(r));

test('a reply is matched by seq and msg_id: a reply with the right seq but another msg_id is ignored', async () => {
  const { link, client } = fakeRm();
  const call = client.call(RM_MSG.VM_GET_STATE, bytes(0x80, 0, 0, 0));
  const [req] = link.read();
  assert.equal(req!.msgId, RM_MSG.VM_GET_STATE);
  link.reply({ msgId: RM_MSG.VM_START, seq: req!.seq });
  assert.equal(client.stats.unmatchedReplies, 1);
  assert.equal(client.pendingCount, 1);
  link.reply(req!, bytes(3, 4, 0, 0));
  assert.deepEqual(await call, bytes(3, 4, 0, 0));
  assert.equal(client.pendingCount, 0);
});

test('concurrent calls get distinct sequence numbers and replies in any order reach their own caller', async () => {
  const { link, client } = fakeRm();
  const a = client.call(RM_MSG.VM_GET_STATE, bytes(0x80, 0, 0, 0));
  const b = client.call(RM_MSG.VM_GET_STATE, bytes(0x81, 0, 0, 0));
  await settle();
  const [ra, rb] = link.read();
  assert.notEqual(ra!.seq, rb!.seq);
  link.reply(rb!, bytes(2, 0, 0, 0));
  link.reply(ra!, bytes(3, 0, 0, 0));
  assert.deepEqual(await a, bytes(3, 0, 0, 0));
  assert.deepEqual(await b, bytes(2, 0, 0, 0));
});

test('sequence numbers are cyclic 16-bit values that skip those still in use', async () => {
  const { link, client } = fakeRm();
  const stuck = client.call(RM_MSG.VM_GET_VMID, bytes(), { timeoutMs: 60_000 }); // seq 0 stays pending
  const [first] = link.read();
  assert.equal(first!.seq, 0);
  (client as unknown as { nextSeq: number }).nextSeq = 0xffff;
  const wrap = client.call(RM_MSG.VM_GET_VMID, bytes());
  const after = client.call(RM_MSG.VM_GET_VMID, bytes());
  await settle();
  const seqs = link.read().map((r) => r.seq);
  assert.deepEqual(seqs, [0xffff, 1]);
  for (const r of link.requests.slice(1)) link.reply(r, u32(3));
  link.reply(first!, u32(3));
  await Promise.all([stuck, wrap, after]);
});

test('an RM error reply fails the call with the RM error code and its name', async () => {
  const { link, client } = fakeRm();
  link.autoAnswer(() => ({ rmError: RM_ERROR.VM_STATE }));
  const r = await client.call(RM_MSG.VM_START, bytes(0x80, 0, 0, 0));
  assert.ok(isRmFailure(r));
  assert.equal(r.reason, 'rm_error');
  assert.equal(r.rmError, RM_ERROR.VM_STATE);
  assert.equal(r.code, 'RM_ERROR_VM_STATE');
  assert.equal(r.message, 'VM_START: RM_ERROR_VM_STATE');
  assert.equal(client.stats.count('VM_START', 'RM_ERROR_VM_STATE'), 1);
});

test('a stalled RM: the call times out, nothing is left pending and a late reply is ignored', async () => {
  const { link, client } = fakeRm({ timeoutMs: 40 });
  const started = performance.now();
  const r = await client.call(RM_MSG.VM_GET_STATE, bytes(0x80, 0, 0, 0));
  const elapsed = performance.now() - started;
  assert.ok(r instanceof RmFailure);
  assert.equal(r.reason, 'timeout');
  assert.ok(elapsed >= 39 && elapsed < 1000, `timed out after ${elapsed} ms`);
  assert.equal(client.pendingCount, 0);
  assert.equal(client.stats.timeouts[Object.keys(RM_MSG).indexOf('VM_GET_STATE')], 1);
  assert.equal(client.stats.count('VM_GET_STATE', 'timeout'), 1);
  const [req] = link.read();
  link.reply(req!, bytes(3, 0, 0, 0));
  assert.equal(client.stats.unmatchedReplies, 1);
});

test('each call can override the default deadline', async () => {
  const { client } = fakeRm({ timeoutMs: 60_000 });
  const slow = client.call(RM_MSG.VM_GET_VMID, bytes(), { timeoutMs: 10_000 });
  const fast = await client.call(RM_MSG.VM_GET_VMID, bytes(), { timeoutMs: 20 });
  assert.equal((fast as RmFailure).reason, 'timeout');
  assert.equal(client.pendingCount, 1);
  client.close();
  assert.equal(((await slow) as RmFailure).reason, 'closed');
});

test('an AbortSignal cancels a pending call; an aborted signal refuses to send at all', async () => {
  const { link, client } = fakeRm();
  const ctl = new AbortController();
  const call = client.call(RM_MSG.VM_GET_STATE, bytes(0x80, 0, 0, 0), { signal: ctl.signal });
  ctl.abort();
  assert.equal(((await call) as RmFailure).reason, 'aborted');
  assert.equal(client.pendingCount, 0);
  const before = link.sendAttempts;
  const r = await client.call(RM_MSG.VM_GET_STATE, bytes(0x80, 0, 0, 0), { signal: ctl.signal });
  assert.equal((r as RmFailure).reason, 'aborted');
  assert.equal(link.sendAttempts, before);
});

test('a long reply is reassembled from its fragments', async () => {
  const { link, client } = fakeRm();
  const data = Uint8Array.from({ length: RM_RPC.MAX_MESSAGE - 4 }, (_, i) => (i * 7) & 0xff);
  link.autoAnswer(() => ({ data }));
  const r = await client.call(RM_MSG.VM_GET_HYP_RESOURCES, bytes(0x80, 0, 0, 0));
  assert.deepEqual(r, data);
});

test('a partial reply cut short by another message completes its call with bad_reply', async () => {
  const { link, client } = fakeRm();
  const call = client.call(RM_MSG.VM_GET_HYP_RESOURCES, bytes(0x80, 0, 0, 0));
  const [req] = link.read();
  const packets = encodeReply(req!.msgId, req!.seq, RM_ERROR.OK, new Uint8Array(1000)) as Uint8Array[];
  client.deliver(packets[0]!);
  link.notify(RM_NOTIF.VM_STATUS, new Uint8Array(8)); // a new first packet supersedes the partial reply
  const r = await call;
  assert.equal((r as RmFailure).reason, 'bad_reply');
  assert.equal(client.pendingCount, 0);
});

test('a request longer than one packet goes out in fragments with push on the last one only', async () => {
  const { link, client } = fakeRm();
  link.autoAnswer();
  const payload = new Uint8Array(3 * RM_RPC.PAYLOAD_SIZE + 1);
  assert.ok(!isRmFailure(await client.call(RM_MSG.VM_CONSOLE_WRITE, payload)));
  assert.deepEqual(link.pushes, [false, false, false, true]);
  assert.deepEqual(link.requests[0]!.payload, payload);
});

test('a full queue: the client waits for the TX-ready interrupt instead of spinning, and requests never interleave', async () => {
  const { link, client } = fakeRm({ depth: 2 });
  const a = new Uint8Array(5 * RM_RPC.PAYLOAD_SIZE).fill(0xaa);
  const b = new Uint8Array(5 * RM_RPC.PAYLOAD_SIZE).fill(0xbb);
  const ca = client.call(RM_MSG.VM_CONSOLE_WRITE, a);
  const cb = client.call(RM_MSG.VM_CONSOLE_WRITE, b);
  await settle();
  assert.equal(link.queue.length, 2);
  const attemptsWhileFull = link.sendAttempts;
  await settle();
  assert.equal(link.sendAttempts, attemptsWhileFull, 'no send while the queue stays full');
  const got = [];
  while (got.length < 2) {
    got.push(...link.read(1));
    await settle();
  }
  assert.deepEqual(got[0]!.payload, a);
  assert.deepEqual(got[1]!.payload, b);
  for (const r of got) link.reply(r);
  await Promise.all([ca, cb]);
  // At most one refused attempt per TX-ready interrupt: the client retries only when told there is room.
  assert.ok(link.sendAttempts <= 12 + 2 + link.txReadyEvents, `${link.sendAttempts} attempts, ${link.txReadyEvents} TX-ready`);
});

test('a call that times out while waiting for queue space stops sending and releases the send lock', async () => {
  const { link, client } = fakeRm({ depth: 1, timeoutMs: 30 });
  const long = await client.call(RM_MSG.VM_CONSOLE_WRITE, new Uint8Array(3 * RM_RPC.PAYLOAD_SIZE));
  assert.equal((long as RmFailure).reason, 'timeout');
  link.read();
  link.autoAnswer();
  const next = await client.call(RM_MSG.VM_GET_VMID, bytes(), { timeoutMs: 1000 });
  assert.ok(!isRmFailure(next), `after the timeout: ${isRmFailure(next) ? next.message : ''}`);
});

test('notifications reach the subscribers of their ID, decoded by name, until they unsubscribe', () => {
  const { link, client } = fakeRm();
  const rm = new RmCalls(client);
  const statuses: unknown[] = [];
  const chars: string[] = [];
  const off = rm.on('VM_STATUS', (n) => statuses.push(n));
  rm.on('VM_CONSOLE_CHARS', (n) => chars.push(`${n.vmid}:${new TextDecoder().decode(n.bytes)}`));
  const status = VmStatusNotification.encode({ vmid: 0x80, vmStatus: 3, osStatus: 4, appStatus: 0 }) as Uint8Array;
  link.notify(RM_NOTIF.VM_STATUS, status);
  const text = new Uint8Array(600).fill(0x41);
  link.notify(RM_NOTIF.VM_CONSOLE_CHARS, VmConsoleCharsNotification.encode({ vmid: 0x80, bytes: text }) as Uint8Array);
  link.notify(RM_NOTIF.VM_STATUS, new Uint8Array(3)); // does not decode: dropped and counted
  off();
  link.notify(RM_NOTIF.VM_STATUS, status);
  assert.deepEqual(statuses, [{ vmid: 0x80, vmStatus: 3, osStatus: 4, appStatus: 0 }]);
  assert.deepEqual(chars, [`128:${'A'.repeat(600)}`]);
  assert.equal(rm.badNotifications, 1);
  assert.equal(client.stats.notifications.get(RM_NOTIF.VM_STATUS), 3);
});

test('a request the codec refuses is never sent and fails as refused', async () => {
  const { link, client } = fakeRm();
  const rm = new RmCalls(client);
  const r = await rm.vmStart(0x1_0000);
  assert.equal((r as RmFailure).reason, 'refused');
  const huge = await client.call(RM_MSG.VM_CONSOLE_WRITE, new Uint8Array(RM_RPC.MAX_MESSAGE + 1));
  assert.equal((huge as RmFailure).reason, 'refused');
  assert.equal(link.sendAttempts, 0);
});

test('typed calls encode their requests and decode their replies', async () => {
  const { link, client } = fakeRm();
  link.autoAnswer((req) => {
    if (req.msgId === RM_MSG.VM_ALLOCATE) return { data: u32(0x80) };
    if (req.msgId === RM_MSG.VM_GET_STATE) return { data: VmGetStateReply.encode({ vmStatus: 3, osStatus: 4, appStatus: 0 }) as Uint8Array };
    if (req.msgId === RM_MSG.MEM_LEND) return { data: u32(7) };
    return {};
  });
  const rm = new RmCalls(client);
  assert.equal(await rm.vmAllocate(0), 0x80);
  assert.deepEqual(await rm.vmGetState(0x80), { vmStatus: 3, osStatus: 4, appStatus: 0 });
  assert.equal(await rm.vmStop(0x80), undefined);
  const stop = link.requests.find((r) => r.msgId === RM_MSG.VM_STOP)!;
  assert.deepEqual(stop.payload, bytes(0x80, 0, 1, 0, 3, 0, 0, 0)); // FORCE, reason 3 (spec §9.4)
  const handle = await rm.memLend({ acl: [{ vmid: 0x80, rights: 6 }], sgl: [{ ipa: 0x8000_0000n, size: 0x10000n }] });
  assert.equal(handle, 7);
});

test('a parcel of more than 512 ranges is created with APPEND and finished with MEM_APPEND chunks, END on the last', async () => {
  const { link, client } = fakeRm();
  link.autoAnswer((req) => (req.msgId === RM_MSG.MEM_LEND ? { data: u32(9) } : {}));
  const rm = new RmCalls(client);
  const sgl = Array.from({ length: 1100 }, (_, i) => ({ ipa: BigInt(i) * 0x1000n, size: 0x1000n }));
  assert.equal(await rm.memLend({ acl: [{ vmid: 0x80, rights: 6 }], sgl }), 9);
  assert.deepEqual(link.requests.map((r) => r.msgId), [RM_MSG.MEM_LEND, RM_MSG.MEM_APPEND, RM_MSG.MEM_APPEND]);
  assert.equal(link.requests[0]!.payload[2], 2); // flags: APPEND
  assert.deepEqual(link.requests.slice(1).map((r) => r.payload[4]), [0, 1]); // END on the last append
});

test('console writes are split at CONSOLE_WRITE_MAX bytes', async () => {
  const { link, client } = fakeRm();
  link.autoAnswer();
  const rm = new RmCalls(client);
  const text = new Uint8Array(30_000).fill(0x61);
  assert.equal(await rm.consoleWrite(0, text), 30_000);
  assert.deepEqual(link.requests.map((r) => r.payload.length - 4), [14612, 14612, 776]);
});

test('closing the client fails pending calls with closed and refuses new ones', async () => {
  const { client } = fakeRm();
  const pending = client.call(RM_MSG.VM_GET_VMID, bytes());
  client.close();
  assert.equal(((await pending) as RmFailure).reason, 'closed');
  assert.equal(((await client.call(RM_MSG.VM_GET_VMID, bytes())) as RmFailure).reason, 'closed');
});

test('packets that are not a valid RM header are dropped and counted', () => {
  const { client } = fakeRm();
  client.deliver(bytes(0x21, 2, 0));
  client.deliver(bytes(0x31, 2, 0, 0, 0, 0, 0, 0, 0));
  const orphan = encodeMessage('notification', RM_NOTIF.VM_STATUS, 0, new Uint8Array(300)) as Uint8Array[];
  client.deliver(orphan[1]!);
  assert.equal(client.stats.droppedPackets, 3);
  assert.equal(client.rxStats.drops.short_packet, 1);
  assert.equal(client.rxStats.drops.bad_header_words, 1);
  assert.equal(client.rxStats.drops.orphan_continuation, 1);
});
