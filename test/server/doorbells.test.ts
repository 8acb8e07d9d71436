import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HC } from '../../core/abi/hypercalls.js';
import { assertProblem, fixtureApp, hex, VMID_A, VMID_B } from './fixture.js';

const A = `/v1/vms/${VMID_A}/doorbells`;
const B = `/v1/vms/${VMID_B}/doorbells`;
const ZERO = '0x0000000000000000';
const ONES = '0xffffffffffffffff';

test('doorbells: a VM lists its doorbells with flags, masks, ends and counters', async () => {
  const { f, app, http } = await fixtureApp();
  const res = await http.get(B).expect(200);
  assert.deepEqual(res.body, [{
    capid: hex(f.doorbell.b), object_id: res.body[0].object_id, rights: ['receive'], state: 'active',
    flags: ZERO, enable_mask: ONES, ack_mask: ZERO, send_vmids: [VMID_A, 0xff], receive_vmids: [VMID_B, 0xff],
    virq: { bound: false }, counters: { sends: 0, receives: 0, asserts: 0 },
  }]);
  assert.deepEqual((await http.get(`${A}/${hex(f.doorbell.a)}`).expect(200)).body.rights, ['send']);
  await app.close();
});

test('doorbells: ring, receive and mask are doorbell hypercalls answering the old flags', async () => {
  const { f, app, http } = await fixtureApp();
  const before = f.hyp.stats.total(HC.doorbell_send);
  assert.deepEqual((await http.post(`${A}/${hex(f.doorbell.a)}/send`).send({ flags: '0x5' }).expect(200)).body, { old_flags: ZERO });
  assert.deepEqual((await http.post(`${A}/${hex(f.doorbell.a)}/send`).send({ flags: '0xA0' }).expect(200)).body, { old_flags: '0x0000000000000005' });
  assert.equal(f.hyp.stats.total(HC.doorbell_send), before + 2);
  // Clear one flag, then (no body) all of them.
  assert.deepEqual((await http.post(`${B}/${hex(f.doorbell.b)}/receive`).send({ clear_flags: '0x1' }).expect(200)).body, { old_flags: '0x00000000000000a5' });
  assert.deepEqual((await http.post(`${B}/${hex(f.doorbell.b)}/receive`).expect(200)).body, { old_flags: '0x00000000000000a4' });
  assert.equal((await http.get(`${B}/${hex(f.doorbell.b)}`).expect(200)).body.flags, ZERO);
  // spec §5 auto-ack: with enable = ack = 1 a ring asserts and clears bit 0 at once.
  const masked = await http.put(`${B}/${hex(f.doorbell.b)}/mask`).send({ enable_mask: '0x1', ack_mask: '0x1' }).expect(200);
  assert.equal(masked.body.enable_mask, '0x0000000000000001');
  assert.equal(masked.body.ack_mask, '0x0000000000000001');
  await http.post(`${A}/${hex(f.doorbell.a)}/send`).send({ flags: '0x1' }).expect(200);
  const after = await http.get(`${B}/${hex(f.doorbell.b)}`).expect(200);
  assert.equal(after.body.flags, ZERO);
  assert.equal(after.body.counters.asserts, 3);
  await app.close();
});

test('doorbells: clear_flags 0 is the hypervisor\'s 400 ERROR_ARGUMENT_INVALID', async () => {
  const { f, app, http } = await fixtureApp();
  assertProblem(await http.post(`${B}/${hex(f.doorbell.b)}/receive`).send({ clear_flags: '0x0' }), 400, 'ERROR_ARGUMENT_INVALID');
  await app.close();
});

test('doorbells: the wrong end, the wrong object and unknown capids are refused', async () => {
  const { f, app, http } = await fixtureApp();
  assertProblem(await http.post(`${B}/${hex(f.doorbell.b)}/send`).send({ flags: '0x1' }), 403, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  assertProblem(await http.post(`${A}/${hex(f.doorbell.a)}/receive`), 403, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  assertProblem(await http.put(`${A}/${hex(f.doorbell.a)}/mask`).send({ enable_mask: '0x1', ack_mask: '0x0' }), 403, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS');
  assertProblem(await http.post(`${A}/${hex(f.msgq.a)}/send`).send({ flags: '0x1' }), 404, 'ERROR_CSPACE_WRONG_OBJECT_TYPE');
  assertProblem(await http.get(`${A}/${hex(f.msgq.a)}`), 404, 'ERROR_CSPACE_WRONG_OBJECT_TYPE');
  assertProblem(await http.get(`${A}/${hex(f.a.cspace.capid(40))}`), 404, 'ERROR_CSPACE_CAP_NULL');
  assertProblem(await http.get('/v1/vms/7/doorbells'), 404, 'VM_NOT_FOUND');
  await app.close();
});

test('doorbells: bad bodies are 400 VALIDATION_FAILED naming each field', async () => {
  const { f, app, http } = await fixtureApp();
  const cases: [string, string, unknown, string[]][] = [
    ['post', `${A}/${hex(f.doorbell.a)}/send`, {}, ['/body/flags']],
    ['post', `${A}/${hex(f.doorbell.a)}/send`, { flags: 1 }, ['/body/flags']],
    ['post', `${A}/${hex(f.doorbell.a)}/send`, { flags: '0x1ffffffffffffffff' }, ['/body/flags']],
    ['post', `${B}/${hex(f.doorbell.b)}/receive`, { clear_flags: 'all' }, ['/body/clear_flags']],
    ['put', `${B}/${hex(f.doorbell.b)}/mask`, { enable_mask: '0x1' }, ['/body/ack_mask']],
    ['put', `${B}/${hex(f.doorbell.b)}/mask`, { enable_mask: 1, ack_mask: '0x1', extra: true }, ['/body/extra', '/body/enable_mask']],
  ];
  for (const [method, url, body, fields] of cases) {
    const res = await (method === 'put' ? http.put(url) : http.post(url)).send(body as object);
    const p = assertProblem(res, 400, 'VALIDATION_FAILED');
    assert.deepEqual(p.errors!.map((e) => e.field), fields, JSON.stringify(body));
  }
  await app.close();
});
