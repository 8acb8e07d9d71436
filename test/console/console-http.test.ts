// Consoles over HTTP: the live stream (server-sent events and raw chunked bytes), resumption, many readers, slow
// readers, input, the log, the end of a console, and nothing left behind by clients that go away.
import assert from 'node:assert/strict';
import { get, request, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { banner, PROMPT } from '../../core/guests/images/console-echo.js';
import { until } from './fixture.js';
import { deliverChars, RawReader, SseReader, withServer } from './http.js';

const consoleUrl = (base: string, vmid: number, query = '') => `${base}/v1/vms/${vmid}/console${query}`;

/** Byte k of a patterned output is a function of its absolute offset, so any slice can be checked where it stands. */
const patterned = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

test('an event stream replays the history asked for, then follows the guest as it writes', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  await guest.write('boot line 1\r\nboot line 2\r\n');
  const r = await SseReader.open(consoleUrl(base, vm.vmid, '?history=13'));
  assert.equal(r.status, 200);
  assert.equal(r.header('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(r.header('x-console-offset'), '13');
  await r.waitFor((x) => x.output().toString() === 'boot line 2\r\n', 'the history');
  for (let i = 0; i < 20; i++) await guest.write(`line ${i}\r\n`);
  const expected = 'boot line 2\r\n' + Array.from({ length: 20 }, (_, i) => `line ${i}\r\n`).join('');
  await r.waitFor((x) => x.output().toString() === expected, 'every line');
  const first = r.events[0]!;
  assert.deepEqual(first.data, { offset: 13, size: 13, encoding: 'base64', data: Buffer.from('boot line 2\r\n').toString('base64') });
  assert.equal(first.id, '26', 'the id is the offset to resume at');
  r.close();
}));

test('a raw stream carries the bytes as they are, for curl -N', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  await guest.write('before\r\n');
  const r = await RawReader.open(consoleUrl(base, vm.vmid, '?history=100'));
  assert.equal(r.header('content-type'), 'text/plain');
  assert.equal(r.header('transfer-encoding'), 'chunked');
  await guest.write(Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x6d]));
  await until(() => r.bytes().length === 13, 'all bytes');
  assert.deepEqual(r.bytes(), Buffer.concat([Buffer.from('before\r\n'), Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x6d])]));
  r.close();
}));

test('a multi-byte UTF-8 character split across notifications arrives intact on both kinds of stream', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const sse = await SseReader.open(consoleUrl(base, vm.vmid));
  const raw = await RawReader.open(consoleUrl(base, vm.vmid));
  const text = Buffer.from('π≈3.14 — 😀 ok');
  for (let at = 0; at < text.length; at += 3) {
    await guest.write(text.subarray(at, at + 3)); // cuts inside the two-, three- and four-byte characters
    await sse.waitFor((x) => x.output().length === Math.min(text.length, at + 3), 'each piece on its own'); // one event each
  }
  await until(() => raw.bytes().length === text.length, 'the raw bytes');
  assert.equal(sse.output().toString('utf8'), 'π≈3.14 — 😀 ok');
  assert.equal(raw.bytes().toString('utf8'), 'π≈3.14 — 😀 ok');
  assert.ok(sse.events.length >= 6, 'the characters really came in separate events');
  sse.close();
  raw.close();
}));

test('a reader resumes without loss or repetition by Last-Event-ID and by offset', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const first = await SseReader.open(consoleUrl(base, vm.vmid, '?history=0'));
  await guest.write('one\r\n');
  await guest.write('two\r\n');
  await first.waitFor((x) => x.output().toString() === 'one\r\ntwo\r\n', 'two lines');
  const lastId = first.lastId!;
  first.close();
  await guest.write('three\r\n'); // written while nobody listens
  const resumed = await SseReader.open(consoleUrl(base, vm.vmid, '?history=0'), { 'last-event-id': lastId });
  assert.equal(resumed.header('x-console-offset'), '10');
  await guest.write('four\r\n');
  await resumed.waitFor((x) => x.output().toString() === 'three\r\nfour\r\n', 'the missed line then the new one');
  resumed.close();
  const byOffset = await RawReader.open(consoleUrl(base, vm.vmid, '?offset=5'));
  await until(() => byOffset.bytes().toString() === 'two\r\nthree\r\nfour\r\n', 'from offset 5');
  byOffset.close();
}));

test('50 concurrent readers receive identical bytes', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  await guest.write('start\r\n');
  const readers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    i % 2 === 0 ? RawReader.open(consoleUrl(base, vm.vmid, '?offset=0')) : SseReader.open(consoleUrl(base, vm.vmid, '?offset=0'))));
  assert.equal(s.hub.readers(vm.vmid), 50);
  for (let i = 0; i < 100; i++) await guest.write(`line ${i} ${'x'.repeat(i)}\r\n`);
  await s.vms.stop(vm.vmid);
  await Promise.all(readers.map((r) => r.ended()));
  const log = (s.hub.log(vm.vmid) as { bytes: Buffer }).bytes;
  assert.ok(log.length > 5000);
  for (const r of readers) assert.deepEqual(r instanceof RawReader ? r.bytes() : r.output(), log);
  assert.equal(s.hub.readers(vm.vmid), 0);
}));

test('a reader that stops reading does not hold back the others, and is told what it lost', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const fast = await SseReader.open(consoleUrl(base, vm.vmid));
  const slow = await new Promise<IncomingMessage>((resolve) => {
    get(consoleUrl(base, vm.vmid), { headers: { accept: 'text/event-stream' } }, (res) => {
      res.pause(); // reads nothing more: the kernel buffers fill, then the pump stops, then the ring overwrites
      resolve(res);
    });
  });
  let fed = 0;
  const burst = 32 * 1024; // half the ring: a reader that keeps up never loses a byte
  while (s.hub.droppedBytes(vm.vmid) === 0) {
    assert.ok(fed < 256 << 20, 'the slow reader should have lost bytes by now');
    deliverChars(s, vm.vmid, patterned(fed, burst));
    fed += burst;
    await fast.waitFor((x) => x.outputLength === fed, 'the fast reader keeps up');
  }
  assert.deepEqual(fast.output(), patterned(0, fed), 'the fast reader has every byte, in order');
  assert.equal(fast.events.filter((e) => e.event === 'lost').length, 0);

  // The slow reader resumes: after what was buffered for it, a loss, then bytes from where the ring now starts.
  const dropped = s.hub.droppedBytes(vm.vmid);
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let text = '';
  slow.setEncoding('utf8');
  slow.on('data', (chunk: string) => {
    text += chunk;
    for (let cut = text.indexOf('\n\n'); cut >= 0; cut = text.indexOf('\n\n')) {
      const block = text.slice(0, cut);
      text = text.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  });
  slow.resume();
  await until(() => events.some((e) => e.event === 'output' && (e.data.offset as number) + (e.data.size as number) === fed), 'the slow reader catches up');
  const lost = events.filter((e) => e.event === 'lost');
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.data.lost, dropped, 'it is told exactly what the metrics count');
  assert.equal(lost[0]!.data.reason, 'overwritten');
  for (const e of events.filter((x) => x.event === 'output')) {
    const bytes = Buffer.from(e.data.data as string, 'base64');
    assert.deepEqual(bytes, patterned(e.data.offset as number, bytes.length), 'every byte it got is the right one');
  }
  slow.destroy();
  fast.close();
}, { ringBytes: 64 * 1024 }));

test('input typed over HTTP reaches console-echo and its echo comes back on the stream', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('echo1', 'console-echo');
  const r = await SseReader.open(consoleUrl(base, vm.vmid, '?history=1000'));
  await r.waitFor((x) => x.output().toString() === banner(vm.vmid) + PROMPT, 'the banner and prompt');
  const post = await fetch(consoleUrl(base, vm.vmid), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: 'hello, echo\r' }),
  });
  assert.equal(post.status, 200);
  assert.deepEqual(await post.json(), { size: 12 });
  await r.waitFor((x) => x.output().toString().endsWith(`${PROMPT}hello, echo\r\n${PROMPT}`), 'the echo');
  const raw = await fetch(consoleUrl(base, vm.vmid), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'raw too\n' });
  assert.deepEqual(await raw.json(), { size: 8 });
  const b64 = await fetch(consoleUrl(base, vm.vmid), {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: Buffer.from('bytes\r').toString('base64'), encoding: 'base64' }),
  });
  assert.deepEqual(await b64.json(), { size: 6 });
  await r.waitFor((x) => x.output().toString().endsWith(`raw too\r\n${PROMPT}bytes\r\n${PROMPT}`), 'both echoes');
  assert.equal(s.hub.bytesIn(vm.vmid), 26);
  r.close();
}));

test('a VM that stops ends the event stream with an end event; a reconnection then gets 204', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const r = await SseReader.open(consoleUrl(base, vm.vmid));
  await guest.write('last words\r\n');
  await r.waitFor((x) => x.output().length === 12, 'the output');
  await s.vms.stop(vm.vmid);
  await r.ended();
  assert.deepEqual(r.events.at(-1), { id: '12', event: 'end', data: { offset: 12, reason: 'vm-stopped', status: 'exited' } });
  const again = await fetch(consoleUrl(base, vm.vmid), { headers: { accept: 'text/event-stream', 'last-event-id': '12' } });
  assert.equal(again.status, 204, 'EventSource stops reconnecting');
  const late = await SseReader.open(consoleUrl(base, vm.vmid, '?history=100'));
  await late.ended();
  assert.equal(late.output().toString(), 'last words\r\n', 'a new reader still gets the log, then the end');
  assert.equal(late.events.at(-1)?.event, 'end');
  assert.equal(s.hub.readerCount, 0);
}));

test('a raw stream ends when the console does, with the reason and the bytes lost in trailers', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const res = await new Promise<IncomingMessage>((resolve) => get(consoleUrl(base, vm.vmid, '?offset=0'), resolve));
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => res.on('end', resolve));
  await s.guests.get(vm.vmid)!.write('bye');
  await until(() => Buffer.concat(chunks).toString() === 'bye', 'output');
  await s.vms.stop(vm.vmid);
  await ended;
  assert.deepEqual(res.trailers, { 'x-console-lost': '0', 'x-console-end': 'vm-stopped; status=exited' });
}));

test('the log can be read with its offsets and cleared; offsets carry on', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  await guest.write('some output');
  await until(() => s.hub.bytesOut(vm.vmid) === 11, 'output');
  const log = await fetch(`${consoleUrl(base, vm.vmid)}/log`);
  assert.equal(log.headers.get('content-type'), 'application/octet-stream');
  assert.equal(log.headers.get('x-console-start'), '0');
  assert.equal(log.headers.get('x-console-end'), '11');
  assert.equal(await log.text(), 'some output');
  const cleared = await fetch(`${consoleUrl(base, vm.vmid)}/log`, { method: 'DELETE' });
  assert.deepEqual(await cleared.json(), { start: 11, end: 11 });
  await guest.write('more');
  await until(() => s.hub.bytesOut(vm.vmid) === 15, 'output');
  const after = await fetch(`${consoleUrl(base, vm.vmid)}/log`);
  assert.equal(after.headers.get('x-console-start'), '11');
  assert.equal(await after.text(), 'more');
}));

test('bad requests are problems: no VM, no console, an offset past the end, history and offset together, empty input', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const problem = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), body: await res.json() as Record<string, unknown> });
  const none = await problem(await fetch(consoleUrl(base, 0x99)));
  assert.equal(none.status, 404);
  assert.match(none.type ?? '', /^application\/problem\+json/);
  assert.equal(none.body.code, 'VM_NOT_FOUND');
  const hlos = await problem(await fetch(`${consoleUrl(base, 3)}/log`));
  assert.equal(hlos.status, 404);
  assert.equal(hlos.body.code, 'CONSOLE_NOT_FOUND', 'the daemon serves the consoles of the VMs the HLOS owns');
  const ahead = await problem(await fetch(consoleUrl(base, vm.vmid, '?offset=5')));
  assert.equal(ahead.status, 400);
  assert.equal(ahead.body.field, '/querystring/offset');
  const both = await problem(await fetch(consoleUrl(base, vm.vmid, '?offset=0&history=5')));
  assert.equal(both.status, 400);
  assert.equal(both.body.code, 'VALIDATION_FAILED');
  const badHistory = await problem(await fetch(consoleUrl(base, vm.vmid, '?history=-1')));
  assert.equal(badHistory.body.field, '/querystring/history');
  const empty = await problem(await fetch(consoleUrl(base, vm.vmid), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: '' }));
  assert.equal(empty.status, 400);
  const badB64 = await problem(await fetch(consoleUrl(base, vm.vmid), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: '!!', encoding: 'base64' }),
  }));
  assert.equal(badB64.body.field, '/body/data');
  assert.equal(s.hub.readerCount, 0, 'refused streams leave no reader');
}));

test('clients that disconnect leave no readers, listeners or buffers behind', () => withServer(async ({ s, app, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const listeners = s.rm.events.listenerCount();
  const readers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    i % 2 === 0 ? SseReader.open(consoleUrl(base, vm.vmid, '?history=100')) : RawReader.open(consoleUrl(base, vm.vmid, '?history=100'))));
  await guest.write('something for everyone\r\n');
  await until(() => s.hub.readers(vm.vmid) === 20, 'twenty readers');
  for (const r of readers) r.close();
  await until(() => s.hub.readers(vm.vmid) === 0, 'every reader gone');
  // Half-open requests too: a client that sends its request and vanishes before reading anything.
  await Promise.all(Array.from({ length: 5 }, () => new Promise<void>((resolve) => {
    const req = request(consoleUrl(base, vm.vmid), { headers: { accept: 'text/event-stream' } });
    req.on('error', () => {});
    req.on('response', () => {
      req.destroy();
      resolve();
    });
    req.end();
  })));
  await until(() => s.hub.readerCount === 0, 'half-open requests cleaned up');
  await guest.write('nobody listens\r\n');
  assert.equal(s.rm.events.listenerCount(), listeners, 'no listener added to the RM by the streams');
  assert.equal(s.hub.readerCount, 0);
  const open = await new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  assert.equal(open, 0, 'every stream\'s connection closed');
}));

test('input to a VM that is not running is a state conflict; its log and stream stay readable', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  await s.guests.get(vm.vmid)!.write('before the stop\r\n');
  await s.vms.stop(vm.vmid);
  const post = await fetch(consoleUrl(base, vm.vmid), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'anyone?' });
  assert.equal(post.status, 409);
  assert.equal(((await post.json()) as { code: string }).code, 'VM_STATE_CONFLICT');
  const log = await fetch(`${consoleUrl(base, vm.vmid)}/log`);
  assert.equal(await log.text(), 'before the stop\r\n');
  const stream = await RawReader.open(consoleUrl(base, vm.vmid, '?offset=0'));
  await stream.ended();
  assert.equal(stream.bytes().toString(), 'before the stop\r\n');
  assert.equal(s.hub.bytesIn(vm.vmid), 0);
}));
