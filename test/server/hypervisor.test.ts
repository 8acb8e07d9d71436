import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HC } from '../../core/abi/hypercalls.js';
import { CALL_INDEX } from '../../core/hyp/stats.js';
import { fixtureApp } from './fixture.js';

const EXPECTED = {
  api_version: 1,
  variant: 0x51,
  is_64bit: true,
  big_endian: false,
  features: ['partition_cspace', 'doorbell', 'msgqueue', 'vic', 'vcpu', 'memextent', 'trace_ctrl', 'prng', 'vcpu_run'],
  uid: ['0xcd8fd5c1', '0xdb5f53a4', '0x36ce6592', '0x145f3d67'],
};

test('hypervisor: identity comes from hypervisor_identify and CALL_UID issued on the HLOS\'s vCPU 0', async () => {
  const { f, app, http } = await fixtureApp({}, { hlos: true });
  const identify = f.hyp.stats.total(HC.hypervisor_identify);
  const uid = f.hyp.stats.total(CALL_INDEX.smccc('VENDOR_HYP_CALL_UID'));
  const hlosCalls = f.hlos!.vcpus[0]!.hypercalls;
  const res = await http.get('/v1/hypervisor').expect(200);
  assert.deepEqual(res.body, EXPECTED);
  assert.equal(f.hyp.stats.total(HC.hypervisor_identify), identify + 1);
  assert.equal(f.hyp.stats.total(CALL_INDEX.smccc('VENDOR_HYP_CALL_UID')), uid + 1);
  assert.equal(f.hlos!.vcpus[0]!.hypercalls, hlosCalls + 2);
  await app.close();
});

test('hypervisor: without an HLOS VM the same identity comes from the core\'s values', async () => {
  const { f, app, http } = await fixtureApp();
  const before = f.hyp.stats.total(HC.hypervisor_identify);
  assert.deepEqual((await http.get('/v1/hypervisor').expect(200)).body, EXPECTED);
  assert.equal(f.hyp.stats.total(HC.hypervisor_identify), before);
  await app.close();
});
