// The console hub against the real RM (spec §10): guests write their consoles by RM RPC, the HLOS receives
// VM_CONSOLE_CHARS, readers pull from the ring; input goes back as VM_CONSOLE_WRITE.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { banner, PROMPT } from '../../core/guests/images/console-echo.js';
import { ConsoleError, ConsoleReader, type ConsoleEvent } from '../../core/hlos/console-hub.js';
import { CONSOLE_WRITE_MAX } from '../../core/hlos/rm-calls.js';
import { consoleSystem, until, type ConsoleSystem } from './fixture.js';

/** A reader that records every event it is given, pulling whenever it is told there is something. */
function follow(s: ConsoleSystem, vmid: number, opts: { offset?: number; history?: number } = {}) {
  const events: ConsoleEvent[] = [];
  let reader!: ConsoleReader;
  const pull = () => {
    for (let e = reader.next(); e !== null; e = reader.next()) events.push(e);
  };
  const r = s.hub.subscribe(vmid, { ...opts, onReadable: () => queueMicrotask(pull) });
  assert.ok(r instanceof ConsoleReader, r instanceof ConsoleError ? r.detail : 'reader');
  reader = r;
  pull();
  const data = () => Buffer.concat(events.flatMap((e) => (e.kind === 'data' ? [e.bytes] : [])));
  return { reader, events, data, pull };
}

async function withSystem(fn: (s: ConsoleSystem) => Promise<void>, opts: Parameters<typeof consoleSystem>[0] = {}) {
  const s = consoleSystem(opts);
  try {
    await fn(s);
  } finally {
    s.close();
  }
}

test('what a guest writes to its console lands in its ring with absolute offsets', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  await guest.write('hello ');
  await guest.write('world\r\n');
  await until(() => s.hub.bytesOut(vm.vmid) === 13, 'output counted');
  const log = s.hub.log(vm.vmid);
  assert.ok(!(log instanceof ConsoleError));
  assert.equal(log.start, 0);
  assert.equal(log.end, 13);
  assert.equal(log.bytes.toString(), 'hello world\r\n');
}));

test('a reader gets new output only; history and offset replay what the ring holds first', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  await guest.write('0123456789');
  const live = follow(s, vm.vmid);
  const last4 = follow(s, vm.vmid, { history: 4 });
  const from2 = follow(s, vm.vmid, { offset: 2 });
  assert.equal(s.hub.readers(vm.vmid), 3);
  await guest.write('abc');
  await until(() => live.data().length === 3, 'live output');
  assert.equal(live.data().toString(), 'abc');
  assert.equal(last4.data().toString(), '6789abc');
  assert.equal(from2.data().toString(), '23456789abc');
  const first = from2.events[0]!;
  assert.ok(first.kind === 'data' && first.offset === 2, 'data events carry their starting offset');
}));

test('a multi-byte UTF-8 character split across two notifications comes out whole', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const reader = follow(s, vm.vmid);
  const euro = Buffer.from('€ and 😀');
  await guest.write(euro.subarray(0, 2)); // the first two of the euro sign's three bytes
  await guest.write(euro.subarray(2, 9)); // its last byte ... the first two of the emoji's four
  await guest.write(euro.subarray(9));
  await until(() => reader.data().length === euro.length, 'all bytes');
  assert.deepEqual(reader.data(), euro);
  assert.equal(reader.data().toString('utf8'), '€ and 😀');
}));

test('a reader that stops reading never holds back the guest or another reader, and is told what it lost', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const fast = follow(s, vm.vmid);
  const slowReader = s.hub.subscribe(vm.vmid, { onReadable: () => {} });
  assert.ok(slowReader instanceof ConsoleReader);
  const chunk = Buffer.alloc(512, 0x61);
  for (let i = 0; i < 8; i++) await guest.write(chunk); // 4 KiB through a 1 KiB ring
  await until(() => fast.data().length === 4096, 'the fast reader has everything');
  assert.deepEqual(fast.data(), Buffer.alloc(4096, 0x61));
  const lost = slowReader.next();
  assert.deepEqual(lost, { kind: 'lost', offset: 3072, lost: 3072, reason: 'overwritten' });
  const rest = slowReader.next();
  assert.ok(rest?.kind === 'data' && rest.offset === 3072 && rest.bytes.length === 1024, 'then the bytes still held');
  assert.equal(slowReader.next(), null);
  assert.equal(s.hub.droppedBytes(vm.vmid), 3072, 'counted per VM');
  assert.equal(fast.events.filter((e) => e.kind === 'lost').length, 0, 'a reader that keeps up loses nothing');
}, { ringBytes: 1024 }));

test('a read from before the ring start begins at the start with a not-buffered loss; past the end is refused', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  await s.guests.get(vm.vmid)!.write(Buffer.alloc(100, 0x62));
  const r = follow(s, vm.vmid, { offset: 10 });
  assert.deepEqual(r.events[0], { kind: 'lost', offset: 36, lost: 26, reason: 'not-buffered' });
  assert.equal(r.data().length, 64);
  const ahead = s.hub.subscribe(vm.vmid, { offset: 101, onReadable: () => {} });
  assert.ok(ahead instanceof ConsoleError);
  assert.equal(ahead.code, 'OFFSET_AHEAD');
  assert.equal(ahead.field, 'offset');
  const none = s.hub.subscribe(0x99, { onReadable: () => {} });
  assert.ok(none instanceof ConsoleError && none.code === 'NO_CONSOLE');
}, { ringBytes: 64 }));

test('input reaches the guest as VM_CONSOLE_WRITE, split at the RM maximum and in order', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const big = Buffer.from(Array.from({ length: CONSOLE_WRITE_MAX + 1000 }, (_, i) => i & 0xff));
  const writes = [s.hub.write(vm.vmid, Buffer.from('first ')), s.hub.write(vm.vmid, big), s.hub.write(vm.vmid, Buffer.from(' last'))];
  assert.deepEqual(await Promise.all(writes), [6, big.length, 5]);
  await until(() => Buffer.concat(guest.input).length === big.length + 11, 'all input at the guest');
  assert.deepEqual(Buffer.concat(guest.input), Buffer.concat([Buffer.from('first '), big, Buffer.from(' last')]));
  assert.equal(guest.input.length, 4, 'the large write went as two RM messages');
  assert.equal(s.hub.bytesIn(vm.vmid), big.length + 11);
}));

test('console-echo: the banner is in the log, a typed line comes back with the prompt', () => withSystem(async (s) => {
  const vm = await s.createVm('echo1', 'console-echo');
  const text = () => (s.hub.log(vm.vmid) as { bytes: Buffer }).bytes.toString();
  await until(() => text() === banner(vm.vmid) + PROMPT, 'banner and prompt');
  assert.equal(await s.hub.write(vm.vmid, Buffer.from('hello there\r')), 12);
  await until(() => text().endsWith(`hello there\r\n${PROMPT}`), 'the echo');
}));

test('a VM that stops ends each reader after the bytes it wrote, with the status', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const r = follow(s, vm.vmid);
  await guest.write('bye\r\n');
  const stopped = await s.vms.stop(vm.vmid);
  assert.equal(stopped, vm);
  await until(() => r.events.at(-1)?.kind === 'end', 'the end event');
  assert.equal(r.data().toString(), 'bye\r\n');
  assert.deepEqual(r.events.at(-1), { kind: 'end', offset: 5, reason: 'vm-stopped', status: 'exited' });
  assert.equal(r.reader.closed, true);
  assert.equal(s.hub.readers(vm.vmid), 0, 'the ended reader left');
  const late = follow(s, vm.vmid, { history: 100 });
  assert.equal(late.data().toString(), 'bye\r\n', 'a reader of a stopped console gets the log');
  assert.deepEqual(late.events.at(-1), { kind: 'end', offset: 5, reason: 'vm-stopped', status: 'exited' }, 'then the end at once');
  assert.equal(s.hub.readerCount, 0);
}));

test('a VM that closes its console ends the readers; deleting the VM removes its console', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const r = follow(s, vm.vmid);
  await s.guests.get(vm.vmid)!.closeConsole();
  await until(() => r.events.length > 0, 'an event');
  assert.deepEqual(r.events, [{ kind: 'end', offset: 0, reason: 'console-closed', status: 'console closed' }]);
  const after = follow(s, vm.vmid);
  const deleted = await s.vms.delete(vm.vmid);
  assert.deepEqual(deleted, { vmid: vm.vmid });
  assert.equal(after.events.at(-1)?.kind, 'end');
  assert.equal(s.hub.has(vm.vmid), false);
  assert.equal(s.hub.readerCount, 0);
}));

test('clearing the log keeps the offsets; a reader that was behind is told what was cleared', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const behind = s.hub.subscribe(vm.vmid, { offset: 0, onReadable: () => {} }) as ConsoleReader;
  await guest.write('old output');
  await until(() => s.hub.bytesOut(vm.vmid) === 10, 'output');
  const cleared = s.hub.clear(vm.vmid);
  assert.deepEqual(cleared, { start: 10, end: 10, bytes: Buffer.alloc(0) });
  assert.deepEqual(behind.next(), { kind: 'lost', offset: 10, lost: 10, reason: 'cleared' });
  await guest.write('new');
  await until(() => s.hub.bytesOut(vm.vmid) === 13, 'output');
  assert.deepEqual(behind.next(), { kind: 'data', offset: 10, bytes: Buffer.from('new') });
  assert.equal(s.hub.droppedBytes(vm.vmid), 0, 'clearing is not a slow reader losing bytes');
  behind.close();
}));

test('readers that close leave nothing behind; closing the hub ends every reader', () => withSystem(async (s) => {
  const vm = await s.createVm('svm1');
  const readers = Array.from({ length: 10 }, () => follow(s, vm.vmid));
  assert.equal(s.hub.readerCount, 10);
  for (const r of readers.slice(0, 5)) r.reader.close();
  readers[0]!.reader.close(); // twice: harmless
  assert.equal(s.hub.readerCount, 5);
  s.hub.close();
  await until(() => readers.slice(5).every((r) => r.events.at(-1)?.kind === 'end'), 'every open reader ended');
  assert.deepEqual(readers[9]!.events.at(-1), { kind: 'end', offset: 0, reason: 'shutdown', status: 'daemon stopping' });
  assert.equal(s.hub.readerCount, 0);
}));
