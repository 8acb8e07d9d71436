// GET /v1/vms/{vmid}/state: the RM's own answer to VM_GET_STATE (spec §9.4, §9.5), asked by the HLOS driver over
// RM RPC, so each query is message-queue hypercalls and a reply from the RM; its errors as the other RM-backed
// routes answer them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import supertest from 'supertest';
import { HC } from '../../core/abi/hypercalls.js';
import { VMID } from '../../core/abi/vmid.js';
import { buildApp } from '../../server/app.js';
import { testDevice } from '../hlos/device-fixture.js';
import { assertProblem } from './fixture.js';

/** The HLOS driver's deadline in these tests. */
const DEADLINE_MS = 150;

async function stateApp() {
  const device = testDevice({ timeoutMs: DEADLINE_MS });
  const app = await buildApp({ hyp: device.hyp, hlos: device.hlos }, { rateLimit: false });
  await app.ready();
  const http = supertest(app.server);
  const stats = device.hlos.client.stats;
  return {
    device, http,
    /** VM_GET_STATE calls the HLOS driver completed with this result (`RM_OK`, `RM_ERROR_DENIED`, `timeout`, ...). */
    asked: (result: string) => stats.count('VM_GET_STATE', result),
    async close() {
      await app.close();
      device.close();
    },
  };
}

test('vm state: the RM\'s vm_status, os_status and app_status through create, stop, reset and start', async () => {
  const { device, http, asked, close } = await stateApp();
  const { vmid } = (await http.post('/v1/vms').send({ name: 'echo', image: 'console-echo', vcpus: 1 }).expect(201)).body;

  const sends = device.hyp.stats.total(HC.msgqueue_send);
  const before = asked('RM_OK');
  const first = (await http.get(`/v1/vms/${vmid}/state`).expect(200)).body;
  assert.equal(asked('RM_OK') - before, 1, 'one VM_GET_STATE answered by the RM');
  assert.ok(device.hyp.stats.total(HC.msgqueue_send) > sends, `the request and the reply went over the message queues: ${sends} -> ${device.hyp.stats.total(HC.msgqueue_send)}`);
  assert.equal(device.requests.at(-1), 'VM_GET_STATE');
  const { os_status: booting, os_status_value: _, ...rest } = first;
  assert.deepEqual(rest, { vmid, vm_status: 'running', vm_status_value: 3, app_status: 0 });
  assert.ok(['none', 'boot', 'run'].includes(booting), booting);

  // The guest reports RUN with VM_SET_STATUS once booted; the RM answers what the guest reported.
  const deadline = performance.now() + 2000;
  let state = first;
  while (state.os_status !== 'run') {
    assert.ok(performance.now() < deadline, `the guest reports RUN within 2 s (still ${state.os_status})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    state = (await http.get(`/v1/vms/${vmid}/state`).expect(200)).body;
  }
  assert.deepEqual(state, { vmid, vm_status: 'running', vm_status_value: 3, os_status: 'run', os_status_value: 4, app_status: 0 });

  await http.post(`/v1/vms/${vmid}/stop`).expect(200);
  const stopped = (await http.get(`/v1/vms/${vmid}/state`).expect(200)).body;
  assert.equal(stopped.vm_status, 'exited');
  assert.equal(stopped.vm_status_value, 9);

  await http.post(`/v1/vms/${vmid}/reset`).expect(200);
  const reset = (await http.get(`/v1/vms/${vmid}/state`).expect(200)).body;
  assert.deepEqual([reset.vm_status, reset.vm_status_value], ['reset', 11]);

  await http.post(`/v1/vms/${vmid}/start`).expect(200);
  const restarted = (await http.get(`/v1/vms/${vmid}/state`).expect(200)).body;
  assert.deepEqual([restarted.vm_status, restarted.vm_status_value], ['running', 3]);

  // The HLOS may ask about itself; the RM is not the HLOS's to ask about (R-MGNT: only the VM and its owner).
  assert.deepEqual((await http.get(`/v1/vms/${VMID.HLOS}/state`).expect(200)).body.vm_status, 'running');
  const denied = asked('RM_ERROR_DENIED');
  assertProblem(await http.get(`/v1/vms/${VMID.RM}/state`), 403, 'RM_ERROR_DENIED');
  assert.equal(asked('RM_ERROR_DENIED') - denied, 1, 'the RM itself refused');
  await close();
});

test('vm state: an unknown VMID is 404 VM_NOT_FOUND, from the HLOS\'s records or from the RM; a bad one 400', async () => {
  const { device, http, asked, close } = await stateApp();
  const sent = device.requests.length;
  assertProblem(await http.get('/v1/vms/77/state'), 404, 'VM_NOT_FOUND');
  assert.equal(device.requests.length, sent, 'a VMID the HLOS never had is not asked about');
  assert.equal(assertProblem(await http.get('/v1/vms/banana/state'), 400, 'VALIDATION_FAILED').field, '/params/vmid');
  assert.equal(assertProblem(await http.get('/v1/vms/65536/state'), 400, 'VALIDATION_FAILED').field, '/params/vmid');

  // A VM the RM no longer has (as if deallocated behind the HLOS's back): the RM's NORESOURCE answer is 404 too.
  const { vmid } = (await http.post('/v1/vms').send({ name: 'gone', image: 'idle', vcpus: 1 }).expect(201)).body;
  const rm = device.system.rm;
  rm.forget(rm.lookup(vmid)!);
  const before = asked('RM_ERROR_NORESOURCE');
  const p = assertProblem(await http.get(`/v1/vms/${vmid}/state`), 404, 'VM_NOT_FOUND');
  assert.equal(asked('RM_ERROR_NORESOURCE') - before, 1);
  assert.match(p.detail, /RM_ERROR_NORESOURCE/);
  await close();
});

test('vm state: an RM that does not answer in time is 503 RM_TIMEOUT with Retry-After, at the driver\'s deadline', async () => {
  const { device, http, asked, close } = await stateApp();
  const { vmid } = (await http.post('/v1/vms').send({ name: 'slow', image: 'idle', vcpus: 1 }).expect(201)).body;
  device.stall('VM_GET_STATE');
  const started = performance.now();
  const res = await http.get(`/v1/vms/${vmid}/state`);
  const took = performance.now() - started;
  assertProblem(res, 503, 'RM_TIMEOUT');
  assert.equal(res.headers['retry-after'], '1');
  assert.ok(took >= DEADLINE_MS - 5, `answered at the deadline, not before (${took.toFixed(0)} ms)`);
  assert.equal(asked('timeout'), 1);
  assert.equal(device.hlos.client.pendingCount, 0, 'no call left waiting');
  await close();
});
