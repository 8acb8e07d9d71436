// The VM lifecycle routes and the sysfs mirror on a booted device with the services the daemon serves: every
// change is the HLOS VM manager's RM RPC sequence, visible in the hypercall statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import supertest from 'supertest';
import { HC } from '../../core/abi/hypercalls.js';
import { VMID } from '../../core/abi/vmid.js';
import { bootDevice } from '../../core/hlos/device.js';
import { readPath } from '../../fs/tree.js';
import { buildApp } from '../../server/app.js';
import { deviceServices } from '../../server/device-services.js';
import { assertProblem } from './fixture.js';

async function daemonApp() {
  const device = bootDevice({ seed: 0x5eed });
  const services = deviceServices(device, { processMetrics: false });
  const app = await buildApp(services, { rateLimit: false });
  await app.ready();
  return {
    device, services, http: supertest(app.server),
    async close() {
      await app.close();
      services.close();
      device.close();
    },
  };
}

test('vms: the list holds the RM and the HLOS; a created VM runs its image and shows up with its memory', async () => {
  const { device, http, close } = await daemonApp();
  const sends = device.hyp.stats.total(HC.msgqueue_send);
  const created = await http.post('/v1/vms').send({ name: 'alpha', image: 'idle', vcpus: 1 }).expect(201);
  assert.equal(created.headers.location, `/v1/vms/${created.body.vmid}`);
  assert.equal(created.body.name, 'alpha');
  assert.equal(created.body.type, 'secondary');
  assert.equal(created.body.status, 'running');
  assert.equal(created.body.image, 'idle');
  assert.match(created.body.memory.base, /^0x[0-9a-f]{16}$/);
  assert.equal(created.body.memory.size, '0x0000000000100000');
  assert.ok(created.body.vmid >= 0x80 && created.body.vmid <= 0xbf, 'a dynamic VMID (spec §13.1)');
  // The bring-up went over RM RPC: the HLOS sent requests on its queue.
  assert.ok(device.hyp.stats.total(HC.msgqueue_send) >= sends + 6);

  const list = (await http.get('/v1/vms').expect(200)).body as { vmid: number; type: string }[];
  assert.deepEqual(list.map((v) => [v.vmid, v.type]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [[VMID.HLOS, 'primary'], [created.body.vmid, 'secondary'], [VMID.RM, 'rm']]);
  // The guest reports its own os_status as it boots (VM_SET_STATUS); the rest is as created.
  const { os_status: _booting, ...asCreated } = created.body;
  const { os_status, ...now } = (await http.get(`/v1/vms/${created.body.vmid}`).expect(200)).body;
  assert.deepEqual(now, asCreated);
  assert.ok(['none', 'boot', 'run'].includes(os_status));
  const vcpus = (await http.get(`/v1/vms/${created.body.vmid}/vcpus`).expect(200)).body;
  assert.equal(vcpus.length, 1);
  assert.equal(vcpus[0].priority, 32);
  assert.ok(['expects_wakeup', 'ready', 'running'].includes(vcpus[0].state));
  await close();
});

test('vms: stop, reset, start and delete follow the RM state machine; illegal changes are 409', async () => {
  const { http, close } = await daemonApp();
  const { vmid } = (await http.post('/v1/vms').send({ name: 'beta', image: 'idle', vcpus: 1 }).expect(201)).body;
  assert.equal((await http.post(`/v1/vms/${vmid}/stop`).expect(200)).body.status, 'exited');
  assertProblem(await http.post(`/v1/vms/${vmid}/stop`), 409, 'VM_STATE_CONFLICT');
  assertProblem(await http.post(`/v1/vms/${vmid}/start`), 409, 'VM_STATE_CONFLICT');
  assert.equal((await http.post(`/v1/vms/${vmid}/reset`).expect(200)).body.status, 'reset');
  assert.equal((await http.post(`/v1/vms/${vmid}/start`).expect(200)).body.status, 'running');
  await http.delete(`/v1/vms/${vmid}`).expect(204);
  assertProblem(await http.get(`/v1/vms/${vmid}`), 404, 'VM_NOT_FOUND');
  await close();
});

test('vms: bad requests name the field; the RM and the HLOS cannot be stopped or deleted', async () => {
  const { http, close } = await daemonApp();
  assert.equal(assertProblem(await http.post('/v1/vms').send({ name: 'x', image: 'idle', vcpus: 0 }), 400, 'VALIDATION_FAILED').field, '/body/vcpus');
  assert.equal(assertProblem(await http.post('/v1/vms').send({ name: 'x', image: 'nope', vcpus: 1 }), 400, 'VALIDATION_FAILED').field, '/body/image');
  assert.equal(assertProblem(await http.post('/v1/vms').send({ image: 'idle', vcpus: 1 }), 400, 'VALIDATION_FAILED').field, '/body/name');
  assertProblem(await http.post('/v1/vms').set('content-type', 'application/json').send('{"name":'), 400, 'MALFORMED_JSON');
  await http.post('/v1/vms').send({ name: 'gamma', image: 'idle', vcpus: 1 }).expect(201);
  assertProblem(await http.post('/v1/vms').send({ name: 'gamma', image: 'idle', vcpus: 1 }), 409, 'NAME_IN_USE');
  assertProblem(await http.get('/v1/vms/77'), 404, 'VM_NOT_FOUND');
  assertProblem(await http.get('/v1/vms/banana'), 400, 'VALIDATION_FAILED');
  assertProblem(await http.post(`/v1/vms/${VMID.RM}/stop`), 409, 'VM_STATE_CONFLICT');
  assertProblem(await http.delete(`/v1/vms/${VMID.HLOS}`), 409, 'VM_STATE_CONFLICT');
  await close();
});

test('sysfs mirror: a file is the bytes cat prints, a directory a listing, errors carry the errno', async () => {
  const { services, http, close } = await daemonApp();
  const type = await http.get('/v1/sysfs/type').expect(200);
  assert.match(type.headers['content-type']!, /^text\/plain/);
  assert.equal(type.text, 'gunyah\n');
  assert.equal((await http.get('/v1/sysfs/version/api').expect(200)).text, '1\n');
  assert.equal((await http.get('/v1/sysfs/version/variant').expect(200)).text, '81\n');
  const same = readPath(services.sysfs, '/gunyah/vms/3/name');
  assert.equal(same.kind, 'file');
  assert.equal((await http.get('/v1/sysfs/gunyah/vms/3/name').expect(200)).text, same.kind === 'file' ? same.bytes.toString() : '');
  const root = (await http.get('/v1/sysfs/').expect(200)).body;
  assert.deepEqual(root.entries.find((e: { name: string }) => e.name === 'type'), { name: 'type', type: 'file', mode: '0444' });
  assert.deepEqual(root.entries.find((e: { name: string }) => e.name === 'gunyah'), { name: 'gunyah', type: 'dir', mode: '0555' });
  assertProblem(await http.get('/v1/sysfs/nope'), 404, 'ENOENT');
  assertProblem(await http.put('/v1/sysfs/type').set('content-type', 'text/plain').send('xen'), 403, 'EACCES');
  const doorbell = (await http.get('/v1/sysfs/gunyah/doorbells/').expect(200)).body.entries[0];
  if (doorbell !== undefined) {
    assertProblem(await http.put(`/v1/sysfs/gunyah/doorbells/${doorbell.name}/send`).set('content-type', 'text/plain').send('banana'), 400, 'EINVAL');
  }
  await close();
});
