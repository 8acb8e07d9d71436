import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VMID } from '../../core/abi/vmid.js';
import { assertProblem, fixtureApp, hex, VMID_A, VMID_B } from './fixture.js';

test('capabilities: a VM\'s cspace lists each cap with its spec §1.4 type, rights and both ends', async () => {
  const { f, app, http } = await fixtureApp();
  const res = await http.get(`/v1/vms/${VMID_B}/capabilities`).expect(200);
  assert.deepEqual(res.body.map((c: { capid: string; type: string; rights: string[] }) => [c.capid, c.type, c.rights]), [
    [hex(f.msgq.b), 'msgqueue', ['receive']],
    [hex(f.doorbell.b), 'doorbell', ['receive']],
  ]);
  assert.deepEqual(res.body[0].send_vmids, [VMID_A, VMID.RM]);
  assert.deepEqual(res.body[0].receive_vmids, [VMID_B, VMID.RM]);
  assert.equal(res.body[0].rights_mask, '0x00000002');
  assert.equal(res.body[0].object_state, 'active');
  assert.equal(res.body[0].revoked, false);
  await app.close();
});

test('capabilities: the RM\'s caps to a VM\'s objects say which VM (and vCPU) they belong to', async () => {
  const { f, app, http } = await fixtureApp();
  const res = await http.get(`/v1/vms/${VMID.RM}/capabilities`).expect(200);
  const of = (type: string) => res.body.filter((c: { type: string }) => c.type === type);
  assert.deepEqual(of('cspace').map((c: { vmid: number }) => c.vmid), [VMID.RM, VMID_A, VMID_B]);
  assert.deepEqual(of('addrspace').map((c: { vmid: number }) => c.vmid), [VMID_A, VMID_B]);
  assert.deepEqual(of('vic').map((c: { vmid: number }) => c.vmid), [VMID_A, VMID_B]);
  assert.deepEqual(of('vcpu').map((c: { vmid: number; vcpu_index: number }) => [c.vmid, c.vcpu_index]), [[VMID_A, 0], [VMID_B, 0]]);
  assert.deepEqual(of('partition').map((c: { rights: string[] }) => c.rights), [['object_create', 'donate', 'activate']]);
  assert.equal(of('msgqueue')[0].capid, hex(f.msgq.rm));
  assert.deepEqual(of('msgqueue')[0].rights, ['send', 'receive', 'bind_send', 'bind_receive', 'activate']);
  await app.close();
});

test('capabilities: one capability by capid; unknown ones get the hypervisor\'s own error', async () => {
  const { f, app, http } = await fixtureApp();
  const one = await http.get(`/v1/vms/${VMID_A}/capabilities/${hex(f.doorbell.a)}`).expect(200);
  assert.equal(one.body.type, 'doorbell');
  assert.deepEqual(one.body.rights, ['send']);
  // Upper-case and short hex are accepted; answers print 16 lower-case digits.
  const upper = await http.get(`/v1/vms/${VMID_A}/capabilities/0x${f.doorbell.a.toString(16).toUpperCase()}`).expect(200);
  assert.equal(upper.body.capid, hex(f.doorbell.a));
  assertProblem(await http.get(`/v1/vms/${VMID_A}/capabilities/${hex(f.a.cspace.capid(99))}`), 404, 'ERROR_CSPACE_CAP_NULL');
  assertProblem(await http.get(`/v1/vms/${VMID_A}/capabilities/0xffffffffffffffff`), 400, 'ERROR_ARGUMENT_INVALID');
  assertProblem(await http.get(`/v1/vms/${VMID_A}/capabilities/12`), 400, 'VALIDATION_FAILED');
  assertProblem(await http.get(`/v1/vms/${VMID_A}/capabilities/0x10000000000000000`), 400, 'VALIDATION_FAILED');
  assertProblem(await http.get('/v1/vms/65536/capabilities'), 400, 'VALIDATION_FAILED');
  assertProblem(await http.get('/v1/vms/12/capabilities'), 404, 'VM_NOT_FOUND');
  await app.close();
});

test('capabilities: a revoked copy is listed as revoked and refused by capid', async () => {
  const { f, app, http } = await fixtureApp();
  const rmCap = f.rm.cspace.capAt(Number(f.msgq.rm & 0xffffffffn), Number(f.msgq.rm >> 32n));
  assert.ok(typeof rmCap !== 'number');
  for (const child of rmCap.children) child.revoked = true;
  const list = await http.get(`/v1/vms/${VMID_A}/capabilities`).expect(200);
  assert.equal(list.body[0].revoked, true);
  assertProblem(await http.get(`/v1/vms/${VMID_A}/capabilities/${hex(f.msgq.a)}`), 404, 'ERROR_CSPACE_CAP_REVOKED');
  await app.close();
});
