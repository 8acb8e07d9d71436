import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HC } from '../../core/abi/hypercalls.js';
import { right } from '../../core/abi/objects.js';
import { VMID } from '../../core/abi/vmid.js';
import type { Cap } from '../../core/hyp/cspace.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { words } from '../../server/hex.js';
import { waitedOn } from '../../server/virq-wait.js';
import { assertProblem, fixtureApp, hex, MSGQ_DEPTH, MSGQ_MAX_SIZE, RAM, VMID_A, VMID_B } from './fixture.js';

const A = `/v1/vms/${VMID_A}/msgqs`;
const B = `/v1/vms/${VMID_B}/msgqs`;

test('msgqs: a queue\'s ends name each VM once, in ascending VMID order, however many caps each holds', async () => {
  const { f, app, http } = await fixtureApp({}, { hlos: true });
  const queue = (f.rm.cspace.capAt(...words(f.msgq.rm)) as Cap).object;
  f.a.cspace.insert(queue, right('msgqueue', 'send')); // a second SEND cap of A's
  f.hlos!.cspace.insert(queue, right('msgqueue', 'send') | right('msgqueue', 'receive')); // VMID 3: below A and B
  const res = await http.get(`${B}/${hex(f.msgq.b)}`).expect(200);
  assert.deepEqual(res.body.send_vmids, [VMID.HLOS, VMID_A, VMID.RM]);
  assert.deepEqual(res.body.receive_vmids, [VMID.HLOS, VMID_B, VMID.RM]);
  await app.close();
});

test('msgqs: a VM lists the queues it holds, with depth, size, ends and counters', async () => {
  const { f, app, http } = await fixtureApp();
  const res = await http.get(A).expect(200);
  assert.deepEqual(res.body, [{
    capid: hex(f.msgq.a), object_id: res.body[0].object_id, rights: ['send'], state: 'active',
    depth: MSGQ_DEPTH, max_msg_size: MSGQ_MAX_SIZE, count: 0, notfull_threshold: MSGQ_DEPTH - 1, notempty_threshold: 1,
    send_vmids: [VMID_A, 0xff], receive_vmids: [VMID_B, 0xff],
    send_virq: { bound: false }, receive_virq: { bound: false },
    counters: { sent: 0, received: 0, bytes_sent: 0, bytes_received: 0, full_events: 0, full_rejects: 0, flushes: 0 },
  }]);
  const one = await http.get(`${B}/${hex(f.msgq.b)}`).expect(200);
  assert.deepEqual(one.body.rights, ['receive']);
  assert.equal(one.body.object_id, res.body[0].object_id);
  await app.close();
});

test('msgqs: send and receive are msgqueue_send and msgqueue_receive hypercalls on the VM\'s vCPU 0', async () => {
  const { f, app, http } = await fixtureApp();
  const before = { send: f.hyp.stats.total(HC.msgqueue_send), receive: f.hyp.stats.total(HC.msgqueue_receive) };
  const aCalls = f.a.vcpus[0]!.hypercalls;
  const sent = await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: 'héllo' }).expect(200);
  assert.deepEqual(sent.body, { size: 6, not_full: true });
  assert.equal(f.a.vcpus[0]!.hypercalls, aCalls + 1);
  const got = await http.post(`${B}/${hex(f.msgq.b)}/receive`).expect(200);
  assert.deepEqual(got.body, { data: 'héllo', encoding: 'utf8', size: 6, not_empty: false });
  assert.equal(f.hyp.stats.total(HC.msgqueue_send), before.send + 1);
  assert.equal(f.hyp.stats.total(HC.msgqueue_receive), before.receive + 1);
  await app.close();
});

test('msgqs: the agent leaves vCPU 0\'s registers and the scratch page as it found them', async () => {
  const { f, app, http } = await fixtureApp();
  const vcpu = f.a.vcpus[0]!;
  vcpu.regs.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  const scratch = RAM.base + RAM.size - 4096;
  f.a.memory.writeBytes(scratch, new Uint8Array([0xde, 0xad]));
  await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: 'xyz' }).expect(200);
  assert.deepEqual([...vcpu.regs], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.deepEqual([...(f.a.memory.readBytes(scratch, 3) as Uint8Array)], [0xde, 0xad, 0]);
  await app.close();
});

test('msgqs: base64 payloads round-trip, and bytes that are not UTF-8 come back in base64', async () => {
  const { f, app, http } = await fixtureApp();
  const bytes = Buffer.from([0xff, 0x00, 0x80]);
  await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: bytes.toString('base64'), encoding: 'base64', push: true }).expect(200);
  const got = await http.post(`${B}/${hex(f.msgq.b)}/receive?encoding=utf8`).expect(200);
  assert.deepEqual(got.body, { data: bytes.toString('base64'), encoding: 'base64', size: 3, not_empty: false });
  await app.close();
});

test('msgqs: a message above the queue\'s max_msg_size is 413 ERROR_ARGUMENT_SIZE naming both sizes', async () => {
  const { f, app, http } = await fixtureApp();
  const res = await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: 'x'.repeat(MSGQ_MAX_SIZE + 1) });
  const p = assertProblem(res, 413, 'ERROR_ARGUMENT_SIZE');
  assert.match(p.detail, new RegExp(`${MSGQ_MAX_SIZE + 1} bytes .* ${MSGQ_MAX_SIZE} bytes`));
  // Larger than the scratch page too: still the hypervisor's answer, nothing written out of bounds.
  const huge = await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: 'y'.repeat(5000) });
  assertProblem(huge, 413, 'ERROR_ARGUMENT_SIZE');
  await app.close();
});

test('msgqs: a full queue is 409 ERROR_MSGQUEUE_FULL and an empty one 409 ERROR_MSGQUEUE_EMPTY', async () => {
  const { f, app, http } = await fixtureApp();
  for (let i = 0; i < MSGQ_DEPTH; i++) {
    const r = await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: `m${i}` }).expect(200);
    assert.equal(r.body.not_full, i < MSGQ_DEPTH - 1);
  }
  assertProblem(await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: 'over' }), 409, 'ERROR_MSGQUEUE_FULL');
  for (let i = 0; i < MSGQ_DEPTH; i++) {
    const r = await http.post(`${B}/${hex(f.msgq.b)}/receive`).expect(200);
    assert.equal(r.body.data, `m${i}`);
  }
  assertProblem(await http.post(`${B}/${hex(f.msgq.b)}/receive`), 409, 'ERROR_MSGQUEUE_EMPTY');
  await app.close();
});

test('msgqs: using an end the VM has no right to is 403 ERROR_CSPACE_INSUFFICIENT_RIGHTS', async () => {
  const { f, app, http } = await fixtureApp();
  assertProblem(await http.post(`${B}/${hex(f.msgq.b)}/send`).send({ data: 'no' }), 403, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  assertProblem(await http.post(`${A}/${hex(f.msgq.a)}/receive`), 403, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  await app.close();
});

test('msgqs: unknown VMIDs and capids, and capids of other objects, are refused with the right code', async () => {
  const { f, app, http } = await fixtureApp();
  assertProblem(await http.get('/v1/vms/200/msgqs'), 404, 'VM_NOT_FOUND');
  assertProblem(await http.post(`/v1/vms/200/msgqs/${hex(f.msgq.a)}/send`).send({ data: 'x' }), 404, 'VM_NOT_FOUND');
  // The same slot in another cspace decodes to nothing: the hypervisor's ARGUMENT_INVALID, with the field.
  const undecodable = assertProblem(await http.get(`${A}/${hex(f.msgq.b)}`), 400, 'ERROR_ARGUMENT_INVALID');
  assert.equal(undecodable.field, '/params/capid');
  // A free slot of A's cspace: CAP_NULL.
  const free = f.a.cspace.capid(f.a.cspace.count + 5);
  assertProblem(await http.get(`${A}/${hex(free)}`), 404, 'ERROR_CSPACE_CAP_NULL');
  assertProblem(await http.post(`${A}/${hex(free)}/send`).send({ data: 'x' }), 404, 'ERROR_CSPACE_CAP_NULL');
  assertProblem(await http.get(`${A}/${hex(f.doorbell.a)}`), 404, 'ERROR_CSPACE_WRONG_OBJECT_TYPE');
  assertProblem(await http.post(`${A}/${hex(f.doorbell.a)}/send`).send({ data: 'x' }), 404, 'ERROR_CSPACE_WRONG_OBJECT_TYPE');
  await app.close();
});

test('msgqs: bad send bodies are 400 VALIDATION_FAILED naming each field', async () => {
  const { f, app, http } = await fixtureApp();
  const url = `${A}/${hex(f.msgq.a)}/send`;
  const cases: [unknown, string[]][] = [
    [{}, ['/body/data']],
    [{ data: 5 }, ['/body/data']],
    [{ data: '' }, ['/body/data']],
    [{ data: 'x', push: 'yes' }, ['/body/push']],
    [{ data: 'x', encoding: 'hex' }, ['/body/encoding']],
    [{ data: 'not base64!', encoding: 'base64' }, ['/body/data']],
    [{ data: 'x', colour: 'red' }, ['/body/colour']],
  ];
  for (const [body, fields] of cases) {
    const p = assertProblem(await http.post(url).send(body as object), 400, 'VALIDATION_FAILED');
    assert.deepEqual(p.errors!.map((e) => e.field), fields, JSON.stringify(body));
    assert.equal(p.field, fields[0]);
  }
  assertProblem(await http.post(`${A}/nothex/send`).send({ data: 'x' }), 400, 'VALIDATION_FAILED');
  assertProblem(await http.post(`/v1/vms/-1/msgqs/${hex(f.msgq.a)}/send`).send({ data: 'x' }), 400, 'VALIDATION_FAILED');
  assertProblem(await http.post(`${B}/${hex(f.msgq.b)}/receive?timeout_ms=99999`), 400, 'VALIDATION_FAILED');
  assertProblem(await http.post(`${B}/${hex(f.msgq.b)}/receive?wait=1`), 400, 'VALIDATION_FAILED');
  await app.close();
});

test('msgqs: a blocking receive sleeps on the receive vIRQ and wakes when a message lands', async () => {
  const { f, app, http } = await fixtureApp();
  const q = f.b.cspace.lookup<Msgqueue>(Number(f.msgq.b & 0xffffffffn), Number(f.msgq.b >> 32n), 'msgqueue', 0) as Msgqueue;
  const started = performance.now();
  const pending = http.post(`${B}/${hex(f.msgq.b)}/receive?timeout_ms=5000`).then((r) => r);
  while (waitedOn(q.receiveVirq) === 0) await new Promise((r) => setImmediate(r));
  const sentAt = performance.now();
  await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ data: 'wake' }).expect(200);
  const got = await pending;
  assert.equal(got.status, 200);
  assert.equal(got.body.data, 'wake');
  assert.ok(performance.now() - started < 5000);
  assert.ok(sentAt - started < 5000);
  assert.equal(waitedOn(q.receiveVirq), 0, 'the waiter is gone');
  assert.equal(Object.hasOwn(q.receiveVirq, 'assert'), false, 'the source is back to its plain assert');
  await app.close();
});

test('msgqs: a blocking receive that times out is 409 ERROR_MSGQUEUE_EMPTY after the wait', async () => {
  const { f, app, http } = await fixtureApp();
  const started = performance.now();
  const p = assertProblem(await http.post(`${B}/${hex(f.msgq.b)}/receive?timeout_ms=60`), 409, 'ERROR_MSGQUEUE_EMPTY');
  assert.ok(performance.now() - started >= 55);
  assert.match(p.detail, /after waiting 60 ms/);
  await app.close();
});

test('msgqs: a client that hangs up during a blocking receive leaves no waiter behind', async () => {
  const { f, app } = await fixtureApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const q = f.b.cspace.lookup<Msgqueue>(Number(f.msgq.b & 0xffffffffn), Number(f.msgq.b >> 32n), 'msgqueue', 0) as Msgqueue;
  const req = httpRequest({ port, method: 'POST', path: `${B}/${hex(f.msgq.b)}/receive?timeout_ms=30000` });
  req.on('error', () => {});
  req.end();
  while (waitedOn(q.receiveVirq) === 0) await new Promise((r) => setTimeout(r, 2));
  req.destroy();
  while (waitedOn(q.receiveVirq) !== 0) await new Promise((r) => setTimeout(r, 2));
  assert.equal(Object.hasOwn(q.receiveVirq, 'assert'), false);
  await app.close();
});
