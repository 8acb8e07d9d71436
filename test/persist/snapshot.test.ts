import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { VmError } from '../../core/hlos/vm-manager.js';
import { openDaemonState } from '../../core/persist/daemon-state.js';
import { PersistError } from '../../core/persist/format.js';
import { memoryLog, persistApp, persistDevice, tempDir, until, vmReceive, vmSend, type PersistDevice } from './fixture.js';

const HLOS = 3;

async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) {
  const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res;
}
const json = async <T = any>(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object): Promise<T> =>
  (await call(app, method, url, payload)).json() as T;

/** The capid `holder` uses for the VM `vmid`'s vdevice of `kind` in `direction`. */
async function capOf(app: FastifyInstance, holder: number, kind: 'msgqs' | 'doorbells', vmid: number, direction: 'vm-to-owner' | 'owner-to-vm'): Promise<string> {
  const [from, to] = direction === 'vm-to-owner' ? [vmid, HLOS] : [HLOS, vmid];
  const list = await json<{ capid: string; send_vmids: number[]; receive_vmids: number[] }[]>(app, 'GET', `/v1/vms/${holder}/${kind}`);
  const found = list.find((o) => o.send_vmids.includes(from) && o.receive_vmids.includes(to));
  assert.ok(found, `VM ${holder} holds no ${kind} ${direction} of VM ${vmid}`);
  return found.capid;
}

/** What a user sees of a VM's vdevices through the API, without the ids a fresh daemon hands out anew. */
async function vdeviceViews(app: FastifyInstance, vmid: number) {
  const out: Record<string, unknown[]> = {};
  for (const direction of ['vm-to-owner', 'owner-to-vm'] as const) {
    const q = await json(app, 'GET', `/v1/vms/${vmid}/msgqs/${await capOf(app, vmid, 'msgqs', vmid, direction)}`);
    out[`msgq ${direction}`] = [q.depth, q.max_msg_size, q.count, q.counters, q.send_vmids, q.receive_vmids];
    const db = await json(app, 'GET', `/v1/vms/${vmid}/doorbells/${await capOf(app, vmid, 'doorbells', vmid, direction)}`);
    out[`doorbell ${direction}`] = [db.flags, db.enable_mask, db.ack_mask, db.counters, db.send_vmids, db.receive_vmids];
  }
  return out;
}

/** Receive every queued message of a VM's two queues, at their receiving ends. */
async function drain(app: FastifyInstance, dev: PersistDevice, vmid: number): Promise<Record<string, string[]>> {
  const got: string[] = [];
  const toOwner = await capOf(app, HLOS, 'msgqs', vmid, 'vm-to-owner');
  for (;;) {
    const res = await app.inject({ method: 'POST', url: `/v1/vms/${HLOS}/msgqs/${toOwner}/receive` });
    if (res.statusCode === 409) break;
    got.push(res.json<{ data: string }>().data);
  }
  const toVm = await capOf(app, vmid, 'msgqs', vmid, 'owner-to-vm');
  const down: string[] = [];
  for (let m = vmReceive(dev.device, vmid, toVm); typeof m !== 'string'; m = vmReceive(dev.device, vmid, toVm)) down.push(m.toString());
  return { 'vm-to-owner': got, 'owner-to-vm': down };
}

const consoleLog = async (app: FastifyInstance, vmid: number) => {
  const res = await call(app, 'GET', `/v1/vms/${vmid}/console/log`);
  return { start: Number(res.headers['x-console-start']), end: Number(res.headers['x-console-end']), bytes: res.rawPayload };
};

const vmList = (dev: PersistDevice) => dev.device.hlos.listVms().map((v) => [v.vmid, v.name, v.type, v.status, v.image, v.vcpus]);

async function created(dev: PersistDevice, name: string, image: string, start = true) {
  const r = await dev.device.hlos.createVm({ name, image }, { start });
  assert.ok(!(r instanceof VmError), r instanceof VmError ? r.detail : '');
  return r.vmid;
}

test('a snapshot round trip brings back the VMs, every queued message, doorbell flags and masks, console logs and counters', async () => {
  const dir = tempDir();
  const a = persistDevice(21);
  const appA = await persistApp(a, dir);
  const quiet = await created(a, 'quiet', 'idle');
  const echo = await created(a, 'echo', 'console-echo');
  await created(a, 'parked', 'idle', false);

  // Messages both ways, left queued: the idle guest never receives.
  const toOwner = await capOf(appA, quiet, 'msgqs', quiet, 'vm-to-owner');
  for (const data of ['one', 'two', 'three']) assert.equal(vmSend(a.device, quiet, toOwner, Buffer.from(data)), 'OK');
  const toVm = await capOf(appA, HLOS, 'msgqs', quiet, 'owner-to-vm');
  for (const data of ['down 1', 'down 2']) await call(appA, 'POST', `/v1/vms/${HLOS}/msgqs/${toVm}/send`, { data });
  // Doorbells: masks set by the receiving end, then rung by the other.
  const bellToVm = await capOf(appA, quiet, 'doorbells', quiet, 'owner-to-vm');
  await call(appA, 'PUT', `/v1/vms/${quiet}/doorbells/${bellToVm}/mask`, { enable_mask: '0xfffffffffffffffa', ack_mask: '0x0' });
  await call(appA, 'POST', `/v1/vms/${HLOS}/doorbells/${await capOf(appA, HLOS, 'doorbells', quiet, 'owner-to-vm')}/send`, { flags: '0x5' });
  const bellToOwner = await capOf(appA, HLOS, 'doorbells', quiet, 'vm-to-owner');
  await call(appA, 'PUT', `/v1/vms/${HLOS}/doorbells/${bellToOwner}/mask`, { enable_mask: '0xffffffffffffffff', ack_mask: '0x10' });
  await call(appA, 'POST', `/v1/vms/${quiet}/doorbells/${await capOf(appA, quiet, 'doorbells', quiet, 'vm-to-owner')}/send`, { flags: '0x30' });
  // Console: the banner, then an echoed line.
  await call(appA, 'POST', `/v1/vms/${echo}/console`, { data: 'hello\r', encoding: 'utf8' });
  await until(() => String((a.consoles.log(echo) as { bytes: Buffer }).bytes).includes('hello'), 3000, 'the echo');

  const snap = await json(appA, 'POST', '/v1/snapshot', { path: 'round/trip.json' });
  assert.equal(snap.path, join(dir, 'round', 'trip.json'));
  assert.deepEqual(snap.summary, { vms: 3, running: 2, msgqs: 4, messages: 5, doorbells: 4, doorbells_flagged: 2, consoles: 3, console_bytes: snap.summary.console_bytes });
  const before = { vms: vmList(a), quiet: await vdeviceViews(appA, quiet), log: await consoleLog(appA, echo) };
  assert.equal(before.quiet['doorbell owner-to-vm']![0], '0x0000000000000005');
  assert.equal(before.quiet['doorbell vm-to-owner']![0], '0x0000000000000020', 'the ack mask cleared 0x10 on the ring');
  const queuedBefore = await drain(appA, a, quiet);
  assert.deepEqual(queuedBefore, { 'vm-to-owner': ['one', 'two', 'three'], 'owner-to-vm': ['down 1', 'down 2'] });
  await appA.close();
  a.close();

  const b = persistDevice(22);
  const log = memoryLog();
  const state = await openDaemonState(b.target, { stateDir: dir, restoreFile: snap.path, createConfigured: async () => assert.fail(), log });
  assert.ok(!(state instanceof PersistError), state instanceof PersistError ? state.message : '');
  assert.equal(state.source, 'snapshot');
  assert.deepEqual(state.restore!.warnings, []);
  assert.deepEqual({ ...state.restore!.restored, console_bytes: 0 }, { ...snap.summary, console_bytes: 0 });
  const appB = await persistApp(b, dir);
  assert.deepEqual(vmList(b), before.vms.map((v) => (v[1] === 'parked' ? [v[0], v[1], v[2], 'load', v[4], v[5]] : v)));
  assert.deepEqual(await vdeviceViews(appB, quiet), before.quiet);
  const logAfter = await consoleLog(appB, echo);
  assert.equal(logAfter.start, before.log.start);
  assert.ok(logAfter.end >= before.log.end);
  assert.deepEqual(logAfter.bytes.subarray(0, before.log.bytes.length), before.log.bytes, 'the saved log at its offsets; the restarted image writes after it');
  assert.deepEqual(await drain(appB, b, quiet), queuedBefore);
  await state.close();
  await appB.close();
  b.close();
});

test('POST /v1/snapshot names a default file, refuses paths outside the state directory, and needs one', async () => {
  const dir = tempDir();
  const a = persistDevice();
  await created(a, 'quiet', 'idle');
  const app = await persistApp(a, dir);
  const res = await call(app, 'POST', '/v1/snapshot');
  assert.equal(res.statusCode, 201);
  const body = res.json<{ path: string; created: string }>();
  assert.match(body.path, new RegExp(`^${dir}/snapshot-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d-\\d{3}Z\\.json$`));
  assert.equal(JSON.parse(readFileSync(body.path, 'utf8')).created, body.created);
  for (const [path, detail] of [
    ['../escape.json', 'path must stay inside the state directory'],
    ['/etc/passwd', 'path must be a file name relative to the state directory'],
    ['vms.json', 'vms.json is the daemon\'s VM record; choose another name'],
  ]) {
    const bad = await app.inject({ method: 'POST', url: '/v1/snapshot', payload: { path } });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual([bad.json().code, bad.json().field, bad.json().detail], ['VALIDATION_FAILED', '/body/path', detail]);
  }
  await app.close();
  const none = await persistApp(a, null);
  const refused = await none.inject({ method: 'POST', url: '/v1/snapshot' });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().code, 'NO_STATE_DIR');
  await none.close();
  a.close();
});

test('--restore refuses a corrupt or unreadable snapshot with its name and reason, and creates nothing', async () => {
  const dir = tempDir();
  const a = persistDevice();
  await created(a, 'quiet', 'idle');
  const app = await persistApp(a, dir);
  const { path } = await json(app, 'POST', '/v1/snapshot', { path: 's.json' });
  await app.close();
  a.close();
  writeFileSync(path, readFileSync(path, 'utf8').replace('"quiet"', '"noisy"'));
  const b = persistDevice();
  const open = (restoreFile: string) => openDaemonState(b.target, { stateDir: null, restoreFile, createConfigured: async () => assert.fail(), log: memoryLog() });
  const corrupt = await open(path);
  assert.ok(corrupt instanceof PersistError);
  assert.equal(corrupt.message, `${path}: sha256: does not match the state: the file was changed or is corrupt`);
  const missing = await open(join(dir, 'nope.json'));
  assert.ok(missing instanceof PersistError);
  assert.equal(missing.message, `${join(dir, 'nope.json')}: cannot be read (ENOENT)`);
  assert.deepEqual(b.device.hlos.vms.list(), []);
  b.close();
});

test('a stopped VM comes back not started; what its queues held is reported as not restored', async () => {
  const dir = tempDir();
  const a = persistDevice();
  const app = await persistApp(a, dir);
  const quiet = await created(a, 'quiet', 'idle');
  const cap = await capOf(app, quiet, 'msgqs', quiet, 'vm-to-owner');
  assert.equal(vmSend(a.device, quiet, cap, Buffer.from('kept?')), 'OK');
  assert.ok(!(await a.device.hlos.stopVm(quiet) instanceof VmError));
  const { path, summary } = await json(app, 'POST', '/v1/snapshot');
  assert.equal(summary.messages, 1);
  await app.close();
  a.close();
  const b = persistDevice();
  const state = await openDaemonState(b.target, { stateDir: null, restoreFile: path, createConfigured: async () => assert.fail(), log: memoryLog() });
  assert.ok(!(state instanceof PersistError));
  assert.deepEqual(state.restore!.warnings, [
    'VM quiet was stopped: 1 queued messages and 0 doorbells\' flags not restored (it comes back not started, without hypervisor objects)',
  ]);
  assert.equal(b.device.hlos.getVm(quiet)?.status, 'load');
  b.close();
});
