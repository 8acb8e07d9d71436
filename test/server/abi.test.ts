import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HC } from '../../core/abi/hypercalls.js';
import { hypercallFunctionId, NATIVE_HVC, SMCCC_CALL } from '../../core/abi/smccc.js';
import { MAX_MEMORY_IO } from '../../server/routes/memory.js';
import { assertProblem, fixtureApp, hex, RAM, VMID_A, VMID_B } from './fixture.js';

const fid = (n: number) => `0x${hypercallFunctionId(n).toString(16)}`;
const HYPERCALL = `/v1/vms/${VMID_A}/hypercall`;
const octets = { 'content-type': 'application/octet-stream' };

test('hypercall: an SMCCC call runs as vCPU 0 and answers X0-X7 with the error name', async () => {
  const { f, app, http } = await fixtureApp();
  const res = await http.post(HYPERCALL).send({ function_id: fid(HC.hypervisor_identify) }).expect(200);
  assert.equal(res.body.call, 'hypervisor_identify');
  assert.equal(res.body.error, null, 'identify has no error register');
  assert.equal(res.body.x.length, 8);
  assert.equal(res.body.x[0], '0x5100000000008001');
  // A real buffer send through the raw ABI: message bytes written with PUT memory first.
  await http.put(`/v1/vms/${VMID_A}/memory/0x${RAM.base.toString(16)}`).set(octets).send(Buffer.from('raw!')).expect(204);
  const send = await http.post(HYPERCALL).send({ function_id: fid(HC.msgqueue_send), args: [hex(f.msgq.a), '0x4', `0x${RAM.base.toString(16)}`, '0x0', '0x0'] }).expect(200);
  assert.deepEqual([send.body.call, send.body.error, send.body.x[1]], ['msgqueue_send', 'OK', '0x0000000000000001']);
  const got = await http.post(`/v1/vms/${VMID_B}/msgqs/${hex(f.msgq.b)}/receive`).expect(200);
  assert.equal(got.body.data, 'raw!');
  await app.close();
});

test('hypercall: errors are answers, not problems; the native convention and SMCCC services work too', async () => {
  const { f, app, http } = await fixtureApp();
  const empty = await http.post(`/v1/vms/${VMID_B}/hypercall`).send({ function_id: fid(HC.msgqueue_receive), args: [hex(f.msgq.b), `0x${RAM.base.toString(16)}`, '0x100', '0x0'] }).expect(200);
  assert.equal(empty.body.error, 'ERROR_MSGQUEUE_EMPTY');
  assert.equal(empty.body.x[0], '0x000000000000003c');
  const native = await http.post(HYPERCALL).send({ convention: 'native', imm: `0x${(NATIVE_HVC.BASE + HC.msgqueue_send).toString(16)}`, args: ['0x1'] }).expect(200);
  assert.deepEqual([native.body.call, native.body.error], ['msgqueue_send', 'ERROR_ARGUMENT_INVALID']);
  const uid = await http.post(HYPERCALL).send({ function_id: `0x${SMCCC_CALL.VENDOR_HYP_CALL_UID.toString(16)}` }).expect(200);
  assert.deepEqual([uid.body.call, uid.body.error, uid.body.x[0]], ['VENDOR_HYP_CALL_UID', null, '0x00000000cd8fd5c1']);
  const unknown = await http.post(HYPERCALL).send({ function_id: '0xc6003fff' }).expect(200);
  assert.deepEqual([unknown.body.call, unknown.body.error, unknown.body.x[0]], [null, 'ERROR_UNIMPLEMENTED', '0xffffffffffffffff']);
  await app.close();
});

test('hypercall: the vCPU\'s own registers are restored after the call', async () => {
  const { f, app, http } = await fixtureApp();
  const regs = f.a.vcpus[0]!.regs;
  regs.fill(7);
  await http.post(HYPERCALL).send({ function_id: fid(HC.hypervisor_identify) }).expect(200);
  assert.deepEqual([...regs], new Array(16).fill(7));
  await app.close();
});

test('hypercall: malformed calls are 400 VALIDATION_FAILED naming the field', async () => {
  const { app, http } = await fixtureApp();
  const cases: [unknown, string[]][] = [
    [{}, ['/body/function_id']],
    [{ function_id: 'c6008000' }, ['/body/function_id']],
    [{ function_id: '0x1c6008000' }, ['/body/function_id']],
    [{ function_id: '0xc6008000', args: ['0x0', '0x0', '0x0', '0x0', '0x0', '0x0', '0x0', '0x0'] }, ['/body/args']],
    [{ function_id: '0xc6008000', args: [0] }, ['/body/args/0']],
    [{ function_id: '0xc6008000', imm: '0x6000' }, ['/body/imm']],
    [{ convention: 'native' }, ['/body/imm']],
    [{ convention: 'native', imm: '0x6000', function_id: '0xc6008000' }, ['/body/function_id']],
    [{ convention: 'svc', function_id: '0xc6008000' }, ['/body/convention']],
  ];
  for (const [body, fields] of cases) {
    const p = assertProblem(await http.post(HYPERCALL).send(body as object), 400, 'VALIDATION_FAILED');
    assert.deepEqual(p.errors!.map((e) => e.field), fields, JSON.stringify(body));
  }
  assertProblem(await http.post('/v1/vms/99/hypercall').send({ function_id: '0xc6008000' }), 404, 'VM_NOT_FOUND');
  await app.close();
});

test('memory: raw bytes in and out at an IPA, as the VM sees its address space', async () => {
  const { f, app, http } = await fixtureApp();
  const ipa = RAM.base + 0x1ffe; // spans two pages
  await http.put(`/v1/vms/${VMID_A}/memory/0x${ipa.toString(16)}`).set(octets).send(Buffer.from([1, 2, 3, 4])).expect(204);
  assert.deepEqual([...(f.a.memory.readBytes(ipa, 4) as Uint8Array)], [1, 2, 3, 4]);
  const res = await http.get(`/v1/vms/${VMID_A}/memory/0x${ipa.toString(16)}?length=4`)
    .buffer(true).parse((r, cb) => { const chunks: Buffer[] = []; r.on('data', (c: Buffer) => chunks.push(c)); r.on('end', () => cb(null, Buffer.concat(chunks))); })
    .expect(200);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.deepEqual([...(res.body as Buffer)], [1, 2, 3, 4]);
  // VM B's memory at the same IPA is its own.
  assert.deepEqual([...(f.b.memory.readBytes(ipa, 4) as Uint8Array)], [0, 0, 0, 0]);
  await app.close();
});

test('memory: unmapped addresses are 400 ERROR_ADDR_INVALID and nothing is written', async () => {
  const { f, app, http } = await fixtureApp();
  const last = RAM.base + RAM.size - 2;
  const p = assertProblem(await http.put(`/v1/vms/${VMID_A}/memory/0x${last.toString(16)}`).set(octets).send(Buffer.from([9, 9, 9, 9])), 400, 'ERROR_ADDR_INVALID');
  assert.equal(p.field, '/params/ipa');
  assert.deepEqual([...(f.a.memory.readBytes(last, 2) as Uint8Array)], [0, 0]);
  assertProblem(await http.get(`/v1/vms/${VMID_A}/memory/0x0?length=16`), 400, 'ERROR_ADDR_INVALID');
  assertProblem(await http.get(`/v1/vms/${VMID_A}/memory/0xffffffffffffffff?length=1`), 400, 'ERROR_ADDR_INVALID');
  await app.close();
});

test('memory: lengths, sizes and content types are bounded and checked', async () => {
  const { app, http } = await fixtureApp();
  const at = `/v1/vms/${VMID_A}/memory/0x${RAM.base.toString(16)}`;
  assertProblem(await http.get(at), 400, 'VALIDATION_FAILED');
  assertProblem(await http.get(`${at}?length=0`), 400, 'VALIDATION_FAILED');
  assertProblem(await http.get(`${at}?length=${MAX_MEMORY_IO + 1}`), 400, 'VALIDATION_FAILED');
  assertProblem(await http.put(at).set(octets).send(Buffer.alloc(MAX_MEMORY_IO + 1)), 413, 'PAYLOAD_TOO_LARGE');
  assertProblem(await http.put(at).set('content-type', 'application/json').send('{}'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertProblem(await http.put(`/v1/vms/${VMID_A}/memory/ram`).set(octets).send(Buffer.from([1])), 400, 'VALIDATION_FAILED');
  // The largest write is accepted (above the 64 KiB JSON limit).
  await http.put(at).set(octets).send(Buffer.alloc(256 * 1024, 1)).expect(204);
  await app.close();
});
